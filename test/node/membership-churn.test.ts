/**
 * Seeded churn on an in-process cluster (virtual clock): random adds,
 * removals and replacements — the leader included — between writes, over
 * links that drop and delay messages. Every
 * write acknowledged must be on every final member, in the same order.
 * A failure names its seed.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { SeededRandom } from '../../src/util/random.js';
import { NodeCluster, TICK_MS, text } from '../support/node-cluster.js';

// KEEL_CHURN_SEED replays one seed; KEEL_CHURN_SEEDS=N runs seeds 1..N (default 6).
const SEEDS = process.env['KEEL_CHURN_SEED'] !== undefined
  ? [Number(process.env['KEEL_CHURN_SEED'])]
  : Array.from({ length: Number(process.env['KEEL_CHURN_SEEDS'] ?? 6) }, (_, i) => i + 1);
const STEPS = 6;

let cluster: NodeCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe('membership churn', () => {
  for (const seed of SEEDS) {
    test(`seed ${seed}: acknowledged writes survive adds, removals and replacements`, async () => {
      const random = new SeededRandom(seed);
      const c = (cluster = await NodeCluster.start(['n1', 'n2', 'n3'], seed, { snapshotting: { entries: 8, keepEntries: 2 } }));
      // Lossy links: 5% of messages are dropped, the others delayed by up to two ticks.
      const links = new SeededRandom(seed + 1000);
      c.network.setPolicy(() => (links.nextInt(100) < 5 ? { deliver: false } : { deliver: true, delayMs: links.nextInt(2 * TICK_MS) }));
      const acknowledged: string[] = [];
      const trace: string[] = [];
      let nextId = 4;
      try {
        for (let step = 0; step < STEPS; step++) {
          const leader = await settledLeader(c);
          const members = c.node(leader).status().members;
          for (let i = 0; i < 3; i++) {
            const value = `s${step}w${i}`;
            await c.run(c.node(leader).propose(text(value)));
            acknowledged.push(value);
          }
          const roll = random.nextInt(3);
          if (roll === 0 || members.length <= 2) {
            const id = `n${nextId++}`;
            trace.push(`add ${id}`);
            await c.joinNode(id);
            await c.run(c.node(leader).addVoter(id, `local:${id}`));
          } else if (roll === 1) {
            const victim = members[random.nextInt(members.length)]!;
            trace.push(`remove ${victim}${victim === leader ? ' (leader)' : ''}`);
            await c.run(c.node(leader).removeMember(victim));
          } else {
            const old = members[random.nextInt(members.length)]!;
            const id = `n${nextId++}`;
            trace.push(`replace ${old}${old === leader ? ' (leader)' : ''} by ${id}`);
            await c.joinNode(id);
            await c.run(c.node(leader).replaceMember(old, id, `local:${id}`));
          }
        }
        const leader = await settledLeader(c);
        await c.run(c.node(leader).propose(text('final')));
        acknowledged.push('final');
        await c.advance(20 * TICK_MS);
        for (const id of c.node(leader).status().members) {
          expect(c.entry(id).machine.items, `seed ${seed}, ${id}, after ${trace.join('; ')}`).toEqual(acknowledged);
        }
      } catch (error) {
        console.log(`membership churn failed: seed ${seed} (KEEL_CHURN_SEED=${seed} replays it); changes: ${trace.join('; ')}`);
        throw error;
      }
    });
  }
});

/**
 * A leader whose configuration is settled: not joint, its config entry
 * committed. After a leader was replaced, the new one leaves the joint
 * configuration on its own.
 */
async function settledLeader(c: NodeCluster): Promise<string> {
  for (let elapsed = 0; elapsed < 60_000; elapsed += TICK_MS) {
    const leader = c.leader();
    const status = leader === null ? null : c.node(leader).status();
    if (leader !== null && status !== null && status.joint === null && status.configIndex <= status.commitIndex) return leader;
    await c.advance(TICK_MS);
  }
  throw new Error('no leader with a settled configuration within 60 s of virtual time');
}
