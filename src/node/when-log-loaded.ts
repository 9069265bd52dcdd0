import { LogNotLoadedError } from '../errors.js';
import type { LogStorage } from '../storage/storage.js';

/** Most attempts to read the stored log at start; each attempt waits for the storage's loads. */
const MAX_LOAD_ATTEMPTS = 1000;

/**
 * Creates the node, which recomputes its configuration from the stored log.
 * An asynchronous storage may not have loaded that log yet
 * ({@link LogNotLoadedError}): wait for its loads and try again.
 */
export async function whenLogLoaded<T>(storage: LogStorage, create: () => T): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return create();
    } catch (error) {
      const settle = (storage as { loadsSettled?: () => Promise<void> }).loadsSettled;
      if (!(error instanceof LogNotLoadedError) || settle === undefined || attempt >= MAX_LOAD_ATTEMPTS) throw error;
      await settle.call(storage);
    }
  }
}
