/**
 * Flow control: a leader streams to a follower in the replicate state, but
 * keeps at most `maxInflightMsgs` AppendEntries (and `maxInflightBytes` of
 * entries) unacknowledged, so a slow follower costs bounded memory and
 * bandwidth (etcd's tracker/inflights.go).
 */
import { describe, expect, test } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import { entrySizeBytes } from '../../../src/core/types.js';
import { CoreCluster } from '../../../src/testing/core-cluster.js';
import type { ClusterRaftOptions } from '../../../src/testing/core-cluster.js';
import { electNode, inFlightWhere, logOf, settle, tickUntil } from '../../support/scenario-cluster.js';

const toN3 = (m: Message): boolean => m.to === 'n3';
const appendsToN3 = (m: Message): boolean => m.type === 'appendEntries' && m.to === 'n3' && m.entries.length > 0;
const PAYLOAD_BYTES = 100;

/** A cluster whose leader n1 has n3 in the replicate state, then proposes `count` entries one by one while n3 answers nothing. */
function slowFollower(raft: ClusterRaftOptions, count: number): CoreCluster {
  const cluster = new CoreCluster({ raft: { ...raft, checkQuorum: false } });
  electNode(cluster, 'n1');
  expect(cluster.raw('n1').status().progress.get('n3')?.state).toBe('replicate');
  for (let i = 0; i < count; i++) {
    cluster.propose('n1', new Uint8Array(PAYLOAD_BYTES).fill(i));
    settle(cluster, { hold: toN3 });
  }
  return cluster;
}

describe('flow control', () => {
  test('flow control: at most maxInflightMsgs AppendEntries are in flight to a slow follower', () => {
    const cluster = slowFollower({ maxInflightMsgs: 3 }, 10);

    expect(inFlightWhere(cluster, appendsToN3)).toHaveLength(3);
    expect(cluster.raw('n1').status().progress.get('n3')).toMatchObject({ state: 'replicate', inflight: 3, match: 1 });
  });

  test('flow control: at most maxInflightBytes of entries are in flight (the message that crosses the limit is the last)', () => {
    const entryBytes = entrySizeBytes({ index: 1, term: 1, type: 'normal', data: new Uint8Array(PAYLOAD_BYTES) });
    const cluster = slowFollower({ maxInflightMsgs: 100, maxInflightBytes: 2 * entryBytes - 1 }, 10);

    expect(inFlightWhere(cluster, appendsToN3)).toHaveLength(2);
  });

  test('flow control: a slow follower does not hold back the others; the leader commits with the fast one', () => {
    const cluster = slowFollower({ maxInflightMsgs: 2 }, 10);

    expect(cluster.raw('n1').status().commitIndex).toBe(11);
    expect(logOf(cluster, 'n2')).toEqual(logOf(cluster, 'n1'));
    expect(cluster.raw('n3').status().lastIndex).toBe(1);
  });

  test('flow control: once the slow follower answers, the window slides and it catches up', () => {
    const cluster = slowFollower({ maxInflightMsgs: 3 }, 10);

    const delivered = settle(cluster);

    expect(logOf(cluster, 'n3')).toEqual(logOf(cluster, 'n1'));
    expect(cluster.raw('n3').status().commitIndex).toBe(11);
    // Bounded all along: the leader never had more than 3 appends with entries outstanding to n3.
    let outstanding = 0;
    let most = 0;
    for (const message of delivered) {
      if (appendsToN3(message)) most = Math.max(most, ++outstanding);
      if (message.type === 'appendEntriesResponse' && message.from === 'n3') outstanding = Math.max(0, outstanding - 1);
    }
    expect(most).toBeLessThanOrEqual(3);
  });

  test('flow control: in the probe state the leader sends one AppendEntries at a time', () => {
    const cluster = new CoreCluster({ raft: { checkQuorum: false } });
    electNode(cluster, 'n1');
    cluster.raw('n1').reportUnreachable('n3');
    expect(cluster.raw('n1').status().progress.get('n3')?.state).toBe('probe');

    for (let i = 0; i < 5; i++) {
      cluster.propose('n1', new Uint8Array([i]));
      settle(cluster, { hold: toN3 });
    }

    expect(inFlightWhere(cluster, appendsToN3)).toHaveLength(1);
  });

  test('flow control: a follower whose whole inflight window was lost without a report still catches up on heartbeats', () => {
    // A transport cannot always tell that a message was lost (a connection reset after the write).
    const cluster = slowFollower({ maxInflightMsgs: 3 }, 10);
    cluster.inFlight = cluster.inFlight.filter((flight) => !toN3(flight.message));

    tickUntil(cluster, () => cluster.raw('n3').status().commitIndex === 11, 50);

    expect(logOf(cluster, 'n3')).toEqual(logOf(cluster, 'n1'));
  });
});
