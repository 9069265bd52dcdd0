/**
 * Checks the operations of a single key: prepare, then search. Shared by the
 * public checker and by the minimiser, which re-checks sub-histories.
 */

import type { Operation } from '../history.js';
import { KvModel } from './kv-model.js';
import { prepareKey, type PreparedKey } from './prepare-key.js';
import { searchLinearization, type SearchBudget, type SearchResult } from './wgl-search.js';

/** The verdict on one key, with the prepared input the search indexes refer to. */
export interface KeyCheck {
  readonly prepared: PreparedKey;
  readonly result: SearchResult;
}

/** Checks the operations of one key (all with the same `key`) against the key-value model. */
export function checkKey(operations: readonly Operation[], budget: SearchBudget): KeyCheck {
  const prepared = prepareKey(operations);
  return { prepared, result: searchLinearization(new KvModel(), prepared.search, budget) };
}
