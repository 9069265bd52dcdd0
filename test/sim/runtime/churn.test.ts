/**
 * Membership churn as a fault: a scripted schedule of adds, removes and
 * replaces (the leader's too) runs through the RaftNode API of whichever node
 * leads, with fresh nodes joining, and the run stays safe and live.
 */
import { describe, expect, test } from 'vitest';
import { decodeScenario, encodeScenario } from '../../../sim/runtime/scenario-codec.js';
import { formatRunReport, runSeed } from '../../../sim/runtime/run.js';
import type { Scenario } from '../../../sim/world/scenario.js';

const SEED = 5;

describe('membership churn', () => {
  test('a schedule line with churn round-trips through the scenario format', () => {
    const text = 'nodes 3 clients 1; at 500 churn add n1; at 900 churn remove n2 leader; at 1300 churn replace n3';
    const scenario = decodeScenario(text);

    expect(scenario.faults.map((fault) => fault.action)).toEqual([
      { kind: 'churn', op: 'add', node: 'n1', leader: false },
      { kind: 'churn', op: 'remove', node: 'n2', leader: true },
      { kind: 'churn', op: 'replace', node: 'n3', leader: false },
    ]);
    expect(encodeScenario(scenario)).toBe(text);
  });

  test(`seed ${SEED}: adds two nodes, removes the leader, replaces a follower and the leader; safe, and the members converge`, async () => {
    const scenario: Scenario = decodeScenario(
      'nodes 3 clients 2; at 400 churn add n1; at 1200 churn add n1; at 2000 churn remove n1 leader; at 2800 churn replace n2; at 3600 churn replace n1 leader',
    );
    const report = await runSeed(SEED, { durationMs: 5000, nodes: 3, faults: ['churn'], scenario });
    console.log(formatRunReport(report));

    expect(report.ok, formatRunReport(report, true)).toBe(true);
    expect(report.coverage.nodeJoined).toBe(4);
    expect(report.coverage.voterAdded).toBe(2);
    expect(report.coverage.leaderRemoved).toBe(1);
    expect(report.coverage.memberReplaced + report.coverage.leaderReplaced).toBe(2);
    expect(report.coverage.jointEntered).toBeGreaterThan(0);
  });
});
