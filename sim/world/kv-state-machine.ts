/**
 * The simulator's replicated key-value store is Keel's own (src/kv): the same
 * state machine and command encoding the KV service runs, so the simulator
 * tests what users deploy. It is also the template for plugging a user's own
 * state machine into the simulator (docs/simulator.md).
 */
export { KvStore as KvStateMachine } from '../../src/kv/store.js';
export { encodeKvCommand, decodeKvCommand } from '../../src/kv/commands.js';
export type { KvCommand, KvResult } from '../../src/kv/commands.js';
