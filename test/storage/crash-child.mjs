// Appends to a LevelStorage until it is killed. Started (and SIGKILLed) by
// level.crash.test.ts. Usage: node crash-child.mjs <location> <seed>
//
// Protocol on stdout, one line each, written synchronously (stdout is a pipe):
//   ready <lastIndex> <firstIndex>   after open
//   sent <lastIndex>                 before append() of the batch ending there is called
//   ack <lastIndex>                  after that append's promise resolved (durable)
//   snap <index>                     after a snapshot at <index> is durable
import { LevelStorage } from '../../dist/src/storage/level.js';
import { CRASH_NODE_ID, crashEntry, crashHardState, seededRandom } from './crash-content.mjs';

const [location, seedText] = process.argv.slice(2);
const random = seededRandom(Number(seedText));
/** Appends in flight at once: more than one, so that group commit merges some. */
const MAX_IN_FLIGHT = 3;
/** Snapshots keep this many entries behind them, so most acknowledged entries stay checkable. */
const SNAPSHOT_LAG = 3000;
/** Stop (exit 0) past this index, which bounds the directory size if the parent is slow to kill. */
const MAX_INDEX = 2_000_000;

const storage = await LevelStorage.open({ location, nodeId: CRASH_NODE_ID, tailCacheBytes: 256 * 1024 });
process.stdout.write(`ready ${storage.lastIndex()} ${storage.firstIndex()}\n`);

let next = storage.lastIndex() + 1;
let acked = storage.lastIndex();
const inFlight = [];
while (next <= MAX_INDEX) {
  // Mostly small batches, sometimes large ones that take several LevelDB log blocks.
  const size = random() < 0.1 ? 1 + Math.floor(random() * 2000) : 1 + Math.floor(random() * 64);
  const entries = Array.from({ length: size }, (_, i) => crashEntry(next + i));
  const last = next + size - 1;
  process.stdout.write(`sent ${last}\n`);
  inFlight.push(storage.append(entries, crashHardState(last)).then(() => {
    acked = Math.max(acked, last);
    process.stdout.write(`ack ${last}\n`);
  }));
  next = last + 1;
  if (inFlight.length >= MAX_IN_FLIGHT) await inFlight.shift();
  if (random() < 0.05 && acked - SNAPSHOT_LAG >= storage.firstIndex()) {
    const index = acked - SNAPSHOT_LAG;
    await storage.saveSnapshot({ index, term: storage.term(index), membership: { voters: [CRASH_NODE_ID] } });
    process.stdout.write(`snap ${index}\n`);
  }
}
await Promise.all(inFlight);
await storage.close();
