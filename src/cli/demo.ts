import { CoreCluster } from '../testing/core-cluster.js';
import { integerOption, parseOptions, withUsage } from './args.js';

const HELP = `Usage: keel demo [--nodes N] [--entries N] [--seed N]

Runs an in-process cluster of Keel's pure Raft core over in-memory storage
and a simulated network: elects a leader, proposes entries, crashes the
leader, proposes more through the new leader, restarts the old one, and
prints what every node applied.

Options:
  --nodes N     cluster size, 3 to 7 (default 3)
  --entries N   entries to propose in each phase, 1 to 1000 (default 3)
  --seed N      seed of the randomized election timeouts (default 1)
`;

const text = new TextDecoder();
const encode = (value: string): Uint8Array => new TextEncoder().encode(value);

/** `keel demo`: what `npm start` runs until the multi-process cluster demo exists. */
export function runDemo(args: readonly string[]): Promise<number> {
  return withUsage(HELP, async () => {
    const values = parseOptions(args, { nodes: { type: 'string' }, entries: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean' } });
    if (values.help === true) {
      process.stdout.write(HELP);
      return 0;
    }
    const size = integerOption('nodes', values.nodes, 3, 3, 7);
    const entries = integerOption('entries', values.entries, 3, 1, 1000);
    const seed = integerOption('seed', values.seed, 1, 0, 2 ** 31 - 1);
    demo(size, entries, seed, (line) => process.stdout.write(`${line}\n`));
    return 0;
  });
}

function demo(size: number, entries: number, seed: number, print: (line: string) => void): void {
  const cluster = new CoreCluster({ ids: Array.from({ length: size }, (_, i) => `n${i + 1}`), seed });
  print(`Keel demo: ${size} nodes, pure Raft core, in-memory storage, seed ${seed}`);

  const first = waitForLeader(cluster);
  print(`\n1. ${first} won the election in term ${cluster.raw(first).status().term}`);
  proposeAll(cluster, first, entries, 'a');
  print(`   proposed ${entries} entries through ${first}; all committed`);

  cluster.crash(first);
  const second = waitForLeader(cluster);
  print(`\n2. crashed ${first}; ${second} took over in term ${cluster.raw(second).status().term}`);
  proposeAll(cluster, second, entries, 'b');
  print(`   proposed ${entries} more through ${second} while ${first} was down`);

  cluster.restart(first);
  cluster.tickAndStabilize(5);
  print(`\n3. restarted ${first} from its storage; it caught up as a follower of ${cluster.leader()}`);

  print('\nWhat each node applied (index:term value; an empty value is a new leader\'s no-op):');
  for (const id of cluster.ids) {
    const status = cluster.raw(id).status();
    const applied = cluster.node(id).state.map((entry) => `${entry.index}:${entry.term} ${text.decode(entry.data) || '·'}`);
    print(`  ${id} ${status.role.padEnd(8)} term ${status.term} commit ${status.commitIndex}  ${applied.join(', ')}`);
  }
  const logs = cluster.ids.map((id) => cluster.node(id).state.map((entry) => `${entry.index}/${entry.term}`).join(','));
  const same = logs.every((log) => log === logs[0]);
  print(same ? '\nAll nodes applied the same entries in the same order.' : '\nNodes differ (this is a bug; please report it with the seed).');
  if (!same) process.exitCode = 1;
}

function waitForLeader(cluster: CoreCluster): string {
  for (let round = 0; round < 1000; round++) {
    const leader = cluster.leader();
    if (leader !== null) return leader;
    cluster.tickAndStabilize();
  }
  throw new Error('no leader after 1000 ticks');
}

function proposeAll(cluster: CoreCluster, leader: string, count: number, prefix: string): void {
  for (let i = 1; i <= count; i++) cluster.propose(leader, encode(`${prefix}${i}`));
  cluster.stabilize();
}
