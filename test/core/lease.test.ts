/**
 * Read leases (Raft dissertation §6.4.1): with CheckQuorum, a leader whose
 * heartbeat a quorum acknowledged within the last election timeout (minus a
 * clock-drift margin) may serve reads without a round trip.
 */
import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { CoreCluster } from '../../src/testing/core-cluster.js';

const ELECTION_TICKS = 10;
const DRIFT_TICKS = 2;

function cluster(): CoreCluster {
  const c = new CoreCluster({ raft: { electionTicks: ELECTION_TICKS, heartbeatTicks: 1, maxClockDriftTicks: DRIFT_TICKS } });
  expect(c.elect('n1')).toBe('n1');
  return c;
}

/** Runs the leader's Ready cycles only (no message delivery) and returns its read states. */
function leaderReadsWithoutNetwork(c: CoreCluster): string[] {
  c.processReady('n1');
  return c.node('n1').readStates.map((read) => read.requestId);
}

describe('§6.4.1 read lease', () => {
  test('a leader holding its lease answers a lease read at once, with no message exchanged', () => {
    const c = cluster();
    c.tickAndStabilize(1); // one heartbeat round acknowledged by a quorum
    const inFlightBefore = c.inFlight.length;
    c.readIndex('n1', 'lease-read', { lease: true });
    expect(leaderReadsWithoutNetwork(c)).toEqual(['lease-read']);
    expect(c.node('n1').readStates[0]?.index).toBe(c.raw('n1').status().commitIndex);
    expect(c.inFlight.length - inFlightBefore).toBe(0);
  });

  test('the lease expires electionTicks - maxClockDriftTicks ticks after the last acknowledged heartbeat was sent', () => {
    const c = cluster();
    c.tickAndStabilize(1);
    c.isolate(['n1']);
    // Still inside the lease: answered without a round trip.
    for (let tick = 1; tick < ELECTION_TICKS - DRIFT_TICKS; tick++) c.tickAll();
    c.readIndex('n1', 'inside', { lease: true });
    expect(leaderReadsWithoutNetwork(c)).toEqual(['inside']);
    // One more tick and the lease is over: the read falls back to ReadIndex, which the partition blocks.
    c.tickAll();
    c.readIndex('n1', 'outside', { lease: true });
    c.stabilize();
    expect(c.node('n1').readStates.map((read) => read.requestId)).toEqual(['inside']);
  });

  test('no lease before the first heartbeat round is acknowledged: the read takes the ReadIndex path', () => {
    const c = new CoreCluster({ raft: { electionTicks: ELECTION_TICKS } });
    c.campaign('n1');
    c.stabilize(); // elected and committed its no-op, but no heartbeat round yet
    c.readIndex('n1', 'early', { lease: true });
    expect(leaderReadsWithoutNetwork(c)).toEqual([]);
    c.stabilize(); // the ReadIndex heartbeat round completes
    expect(c.node('n1').readStates.map((read) => read.requestId)).toEqual(['early']);
  });

  test('starting a leadership transfer voids the lease (the target campaigns past the followers\' leases)', () => {
    const c = cluster();
    c.tickAndStabilize(1);
    c.isolate(['n2']); // keep the transfer in flight
    c.transferLeadership('n1', 'n2');
    c.readIndex('n1', 'during-transfer', { lease: true });
    expect(leaderReadsWithoutNetwork(c)).toEqual([]);
  });

  test('lease reads need CheckQuorum', () => {
    const c = new CoreCluster({ raft: { checkQuorum: false } });
    c.elect('n1');
    expect(() => c.readIndex('n1', 'x', { lease: true })).toThrow(InvalidArgumentError);
  });
});

describe('quiescence and the read lease (docs/multi-raft.md)', () => {
  test('quiesce voids a held lease: the next lease read takes a ReadIndex round', () => {
    const c = cluster();
    c.tickAndStabilize(1);
    c.readIndex('n1', 'before', { lease: true });
    expect(leaderReadsWithoutNetwork(c)).toEqual(['before']);

    c.raw('n1').quiesce();
    c.node('n1').readStates.length = 0;
    c.isolate(['n1']);
    c.readIndex('n1', 'after', { lease: true });
    c.stabilize();
    // Isolated, the ReadIndex round cannot complete: the lease did not answer it.
    expect(c.node('n1').readStates.map((read) => read.requestId)).toEqual([]);
    c.heal();
    c.stabilize();
    c.tickAndStabilize(1);
    expect(c.node('n1').readStates.map((read) => read.requestId)).toEqual(['after']);
  });

  test('a quiesced follower waits a whole election timeout after waking before it campaigns', () => {
    const c = cluster();
    for (let tick = 0; tick < ELECTION_TICKS - 1; tick++) c.raw('n2').tick();
    c.raw('n2').quiesce();
    c.isolate(['n1']);
    for (let tick = 0; tick < ELECTION_TICKS - 1; tick++) c.raw('n2').tick();
    expect(c.raw('n2').role).toBe('follower');
    expect(c.raw('n2').currentTerm).toBe(c.raw('n1').currentTerm);
  });
});
