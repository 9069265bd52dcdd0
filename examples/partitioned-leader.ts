// Testing with keel/testing: a leader cut off from its followers cannot commit, and the log the
// new leader commits wins everywhere once the partition heals. The cluster checks every safety
// invariant after every step and throws a SafetyViolation if one breaks.
import { CoreCluster } from 'keel/testing';

/** What each node applied, as text, after the scenario with this seed. */
export function partitionedLeader(seed: number): { readonly oldLeader: string; readonly newLeader: string; readonly applied: readonly string[][] } {
  const cluster = new CoreCluster({ ids: ['n1', 'n2', 'n3'], seed });
  const oldLeader = cluster.elect('n1')!;
  cluster.isolate([oldLeader]);
  cluster.propose(oldLeader, new TextEncoder().encode('lost')); // stays in n1's log, never committed
  cluster.tickAndStabilize(40); // n2 or n3 times out and wins
  const newLeader = cluster.leader()!;
  cluster.propose(newLeader, new TextEncoder().encode('kept'));
  cluster.stabilize();
  cluster.heal();
  cluster.tickAndStabilize(5); // n1 learns the new term and its log
  const applied = cluster.ids.map((id) =>
    cluster.node(id).state.filter((entry) => entry.type === 'normal' && entry.data.length > 0).map((entry) => new TextDecoder().decode(entry.data)),
  );
  return { oldLeader, newLeader, applied };
}
