/**
 * What the multi-group world checks and counts of the group batches between
 * hosts, as the network sees them: every item leaving a host must promise
 * nothing its group's disk does not hold (reply-durability.ts, per item);
 * a batch carrying the heartbeats of two groups or more is counted as
 * coalesced; an item reaching a quiesced replica is counted as waking it,
 * and the last chunk of a snapshot reaching its replica as a transfer.
 */
import type { NodeId } from '../../src/core/types.js';
import type { NodeMessage } from '../../src/transport/transport.js';
import type { GroupId } from '../../src/util/group-id.js';
import { undurableReply } from '../world/reply-durability.js';
import type { HostWorld } from './host-world.js';

/** A batch handed to the network by host `from`. */
export function observeSent(world: HostWorld, from: NodeId, message: NodeMessage): void {
  if (message.kind !== 'groups') {
    world.fail('Group batches only', `${from} sent a ${message.kind} message outside a group batch`);
    return;
  }
  const host = world.host(from);
  const checkDurable = world.params.world.disk.acknowledgeBeforeSync !== true;
  let heartbeatGroup: GroupId | null = null;
  let coalesced = false;
  for (const item of message.items) {
    if (item.message === undefined) continue;
    if (checkDurable) {
      const disk = host.logs.disk(item.group);
      const problem = disk === undefined ? `a message of group ${item.group}, which ${from} does not hold` : undurableReply(item.message, disk);
      if (problem !== null) world.fail('Durable before reply', `group ${item.group}: ${problem}`);
    }
    if (item.message.kind === 'raft' && (item.message.message.type === 'heartbeat' || item.message.message.type === 'heartbeatResponse')) {
      if (heartbeatGroup === null) heartbeatGroup = item.group;
      else if (heartbeatGroup !== item.group) coalesced = true;
    }
  }
  if (coalesced) world.markHost('heartbeatsCoalesced');
}

/** A batch reaching running host `to`: its items for quiesced groups wake them. */
export function observeDelivered(world: HostWorld, to: NodeId, message: NodeMessage): void {
  if (message.kind !== 'groups') return;
  const host = world.host(to);
  if (host.raftHost === null) return;
  for (const item of message.items) {
    if (item.message?.kind === 'snapshotChunk' && item.message.last) world.mark('snapshotTransferred');
    if (item.message !== undefined && world.quiesced(host, item.group)) {
      world.markHost('wokenByMessage');
      world.record(`${to}/${item.group} woken by a message`);
    }
  }
}
