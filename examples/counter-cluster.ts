// Embedding Keel: a replicated counter on three in-process nodes.
import { LocalNetwork, MemorySnapshotStore, MemoryStorage, RaftNode, SystemClock } from 'keel';
import type { AppliedCommand, Clock, SnapshotSource, StateMachine } from 'keel';

/** The state machine: a counter. Commands are "add N"; apply returns the new total. */
class Counter implements StateMachine<number> {
  total = 0;

  apply({ command }: AppliedCommand): number {
    this.total += Number(new TextDecoder().decode(command).slice('add '.length));
    return this.total;
  }

  /** A number is copied by value: the snapshot holds the total as of now, however it changes while it is written. */
  capture(): SnapshotSource {
    const total = this.total;
    return {
      async *chunks(): AsyncIterable<Uint8Array> {
        yield new TextEncoder().encode(String(total));
      },
    };
  }

  async restore(chunks: AsyncIterable<Uint8Array>): Promise<void> {
    let text = '';
    for await (const chunk of chunks) text += new TextDecoder().decode(chunk);
    this.total = Number(text);
  }
}

/** Starts three nodes, adds 1..5 through different nodes, and reads the total linearizably. */
export async function runCounterCluster(clock: Clock = new SystemClock()): Promise<number[]> {
  const members = ['a', 'b', 'c'];
  const network = new LocalNetwork(clock);
  const counters = new Map(members.map((id) => [id, new Counter()]));
  const nodes = await Promise.all(
    members.map((id) =>
      RaftNode.open<number>({
        id,
        members,
        storage: new MemoryStorage(), // await LevelStorage.open({ location, nodeId: id }) for durability
        snapshots: new MemorySnapshotStore(), // await FileSnapshotStore.open(directory)
        transport: network.transport(id), // a TCP transport across machines
        stateMachine: counters.get(id)!,
        clock,
      }),
    ),
  );
  try {
    // Any node accepts a proposal: followers forward it to the leader.
    for (let n = 1; n <= 5; n++) await nodes[n % nodes.length]!.propose(new TextEncoder().encode(`add ${n}`));
    // A linearizable read on every node: once read() resolves, local state includes every earlier write.
    const totals: number[] = [];
    for (const node of nodes) {
      await node.read();
      totals.push(counters.get(node.id)!.total);
    }
    return totals;
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
  }
}
