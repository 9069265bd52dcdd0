/**
 * A fast-check model test of exactly-once sessions (dissertation §6.3) on an
 * in-process 3-node cluster with a tiny session table: random sequences of
 * open / new request / retry / reuse of a number with another command /
 * stale request / close, sent through random nodes, against a naive model of
 * the table. Each (session, seq) is applied at most once or refused, and
 * every outcome is the one the model predicts.
 *
 * Replay a failure: KEEL_PROPERTY_SEED=<seed> [KEEL_PROPERTY_PATH=<path>] npx vitest run test/node/sessions-model.test.ts
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SessionConflictError, SessionExpiredError, SessionStaleError } from '../../src/errors.js';
import type { Session } from '../../src/node/apply/session.js';
import { NodeCluster, TICK_MS, text } from '../support/node-cluster.js';

const DEFAULT_SEED = 1406;
const NUM_RUNS = 40;

type Op =
  | { readonly kind: 'open'; readonly via: number }
  | { readonly kind: 'new' | 'retry' | 'reuse' | 'stale' | 'close'; readonly session: number; readonly via: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('open' as const), via: fc.nat(2) }),
  fc.record({ kind: fc.constantFrom('new' as const, 'retry' as const, 'reuse' as const, 'stale' as const, 'close' as const), session: fc.nat(7), via: fc.nat(2) }),
);

/** The naive table: LRU as an array of ids, oldest first; per session the latest seq and its command. */
class Model {
  readonly lru: number[] = [];
  readonly latest = new Map<number, { seq: number; command: string; result: unknown }>();

  constructor(private readonly maxSessions: number) {}

  live(id: number): boolean {
    return this.lru.includes(id);
  }

  use(id: number): void {
    this.lru.splice(this.lru.indexOf(id), 1);
    this.lru.push(id);
    if (this.lru.length > this.maxSessions) this.latest.delete(this.lru.shift()!);
  }
}

/** What a client remembers of its session: the handle and the command it sent with its latest number. */
interface Client {
  readonly session: Session;
  lastCommand: string | null;
}

async function runSchedule(ops: readonly Op[], maxSessions: number, clusterSeed: number): Promise<void> {
  const c = await NodeCluster.start(undefined, clusterSeed, { limits: { maxSessions } });
  try {
    await c.waitForLeader();
    const model = new Model(maxSessions);
    const clients: Client[] = [];
    const applied = new Map<string, number>();
    let counter = 0;
    for (const step of ops) {
      const node = c.node(c.ids[step.via]!);
      if (step.kind === 'open') {
        const session = await c.run(node.openSession());
        clients.push({ session, lastCommand: null });
        model.lru.push(session.id);
        model.use(session.id);
        continue;
      }
      const client = clients[step.session % Math.max(clients.length, 1)];
      if (client === undefined) continue;
      const id = client.session.id;
      if (step.kind === 'close') {
        await c.run(node.closeSession(client.session));
        if (model.live(id)) model.lru.splice(model.lru.indexOf(id), 1);
        model.latest.delete(id);
        continue;
      }
      const seq = step.kind === 'new' ? client.session.nextSeq() : step.kind === 'stale' ? client.session.lastSeq - 1 : client.session.lastSeq;
      if (seq < 1 || (step.kind !== 'new' && client.lastCommand === null)) continue;
      const command = step.kind === 'retry' || step.kind === 'stale' ? client.lastCommand! : `c${++counter}`;
      if (step.kind === 'new') client.lastCommand = command;
      const outcome = await c.run(node.propose(text(command), { session: client.session, seq })).then(
        (result) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      const label = `${step.kind} session ${id} seq ${seq} (${command}) via ${c.ids[step.via]}`;
      if (!model.live(id)) {
        expect(outcome.ok ? outcome.result : outcome.error, label).toBeInstanceOf(SessionExpiredError);
        continue;
      }
      model.use(id);
      const latest = model.latest.get(id);
      if (latest === undefined || seq > latest.seq) {
        expect(outcome.ok, label).toBe(true);
        model.latest.set(id, { seq, command, result: outcome.ok ? outcome.result : null });
        applied.set(command, (applied.get(command) ?? 0) + 1);
      } else if (seq < latest.seq) {
        expect(outcome.ok ? outcome.result : outcome.error, label).toBeInstanceOf(SessionStaleError);
      } else if (command !== latest.command) {
        expect(outcome.ok ? outcome.result : outcome.error, label).toBeInstanceOf(SessionConflictError);
      } else {
        expect(outcome, label).toEqual({ ok: true, result: latest.result });
      }
    }
    await c.advance(10 * TICK_MS);
    // Each command the model applied is in every node's state machine exactly once; no other command is.
    for (const id of c.ids) {
      const items = c.entry(id).machine.items;
      expect(new Set(items).size, `${id} applied a command twice: ${items.join(',')}`).toBe(items.length);
      expect([...items].sort(), id).toEqual([...applied.keys()].sort());
    }
  } finally {
    await c.close();
  }
}

describe('exactly-once sessions against a model (dissertation §6.3)', () => {
  test(`${NUM_RUNS} random schedules of open / new / retry / reuse / stale / close with 1 to 3 sessions held`, async () => {
    const seedOption = process.env['KEEL_PROPERTY_SEED'];
    const seed = seedOption === undefined ? DEFAULT_SEED : seedOption === 'random' ? Date.now() % 2_147_483_647 : Number(seedOption);
    const path = process.env['KEEL_PROPERTY_PATH'];
    console.log(`sessions model seed ${seed} (replay: KEEL_PROPERTY_SEED=${seed} npx vitest run test/node/sessions-model.test.ts)`);
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3 }), fc.nat(1000), (ops, maxSessions, clusterSeed) =>
        runSchedule(ops, maxSessions, clusterSeed),
      ),
      { numRuns: NUM_RUNS, seed, ...(path === undefined ? {} : { path }), endOnFailure: true },
    );
  }, 120_000);
});
