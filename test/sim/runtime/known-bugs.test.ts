/**
 * Bugs the runtime simulator found in src/: the seeds that reproduced them now
 * run clean, and any bug still listed as known still reproduces (once it is
 * fixed, that test fails as a reminder to move it to FIXED_BUGS).
 */
import { describe, expect, test } from 'vitest';
import { NodeClosedError } from '../../../src/errors.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { RaftNode } from '../../../src/node/raft-node.js';
import { MemorySnapshotStore } from '../../../src/storage/memory-snapshot-store.js';
import { MemoryStorage } from '../../../src/storage/memory.js';
import { LocalNetwork } from '../../../src/transport/local-network.js';
import { SeededRandom } from '../../../src/util/random.js';
import { formatRunReport, runSeed } from '../../../sim/runtime/run.js';
import { KvStateMachine } from '../../../sim/world/kv-state-machine.js';
import { FIXED_BUGS, KNOWN_BUGS } from './known-bugs.js';

describe('bugs found by the runtime simulator', () => {
  test.each(FIXED_BUGS.map((bug) => [bug.id, bug.seed, bug] as const))('fixed: %s (seed %i) now runs clean', async (_id, _seed, bug) => {
    const report = await runSeed(bug.seed, bug.options);
    if (!report.ok) console.log(formatRunReport(report));
    expect(report.violation).toBeNull();
    expect(report.livenessFailure).toBeNull();
    expect(report.budgetFailure).toBeNull();
  });

  // Empty while no bug is known; test.each of nothing defines no test.
  test.each(KNOWN_BUGS.map((bug) => [bug.id, bug] as const))('%s still reproduces from its seed', async (_id, bug) => {
    const report = await runSeed(bug.seed, bug.options);
    if (!bug.matches(report)) {
      console.log(`known bug ${bug.id} no longer reproduces from seed ${bug.seed}: fixed? Remove it from KNOWN_BUGS.\n${formatRunReport(report)}`);
    }
    expect(bug.matches(report)).toBe(true);
  });

  // Seen while building the simulator: close() promises that "every pending operation rejects with
  // NodeClosedError", but requests waiting for a leader were kept until their own deadline.
  test('close() rejects a proposal that is waiting for a leader with NodeClosedError', async () => {
    const clock = new VirtualClock();
    const node = await RaftNode.open({
      id: 'n1',
      members: ['n1', 'n2', 'n3'],
      storage: new MemoryStorage(),
      snapshots: new MemorySnapshotStore(),
      transport: new LocalNetwork(clock).transport('n1'),
      stateMachine: new KvStateMachine(),
      clock,
      random: new SeededRandom(1),
    });
    const proposal = node.propose(new Uint8Array([1]));
    const outcome = proposal.then(
      () => 'resolved',
      (error: unknown) => (error instanceof NodeClosedError ? 'closed' : String(error)),
    );
    await node.close();
    const settled = await Promise.race([outcome, new Promise<string>((resolve) => setImmediate(() => resolve('still pending')))]);
    expect(settled).toBe('closed');
  });
});
