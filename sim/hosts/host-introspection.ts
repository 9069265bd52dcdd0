/**
 * What the simulator reads of a `RaftHost` that its public API does not
 * show: which groups are quiesced right now. The coverage marks of waking
 * (by a proposal, by a message) and of losing a quiesced leader's host need
 * it at the moment the input arrives. Read-only; it never changes the host.
 *
 * It reads the host's private quiescence bookkeeping by name, so a rename in
 * src/host/raft-host.ts breaks it loudly (the assertion below), never quietly.
 * A public `RaftHost.isQuiesced(group)` would make it unnecessary.
 */
import type { RaftHost } from '../../src/host/raft-host.js';
import { assert } from '../../src/util/assert.js';
import type { GroupId } from '../../src/util/group-id.js';

interface QuiescenceView {
  isQuiesced(group: GroupId): boolean;
}

/** Whether `group` is quiesced on `host`. */
export function isQuiescedOn(host: RaftHost<unknown>, group: GroupId): boolean {
  const quiescence = (host as unknown as { quiescence?: QuiescenceView }).quiescence;
  assert(quiescence !== undefined && typeof quiescence.isQuiesced === 'function', 'RaftHost no longer keeps its quiescence as `quiescence`: update sim/hosts/host-introspection.ts');
  return quiescence.isQuiesced(group);
}
