// Appends to three groups of a LevelEngine (the shared database of a
// multi-group host) until it is killed. Started (and SIGKILLed) by
// level-engine.crash.test.ts. Usage: node engine-crash-child.mjs <location> <seed>
//
// Protocol on stdout, one line each, written synchronously (stdout is a pipe):
//   ready                         after every group is open
//   sent <group> <lastIndex>      before append() of the group's batch ending there is called
//   ack <group> <lastIndex>       after that append's promise resolved (durable)
import { LevelEngine } from '../../dist/src/storage/level-engine.js';
import { CRASH_NODE_ID, crashEntry, crashHardState, seededRandom } from './crash-content.mjs';

const ENGINE_CRASH_GROUPS = ['g0', 'g1', 'g2'];
const [location, seedText] = process.argv.slice(2);
const random = seededRandom(Number(seedText));
const MAX_INDEX = 500_000;

const engine = await LevelEngine.open({ location, hostId: CRASH_NODE_ID });
const listed = new Set((await engine.listGroups()).map((listing) => listing.group));
const storages = [];
for (const group of ENGINE_CRASH_GROUPS) {
  storages.push(listed.has(group) ? await engine.openGroup(group, { tailCacheBytes: 64 * 1024 }) : await engine.createGroup(group, { tailCacheBytes: 64 * 1024 }));
}
process.stdout.write('ready\n');

const inFlight = [];
for (;;) {
  // One burst: a batch for some of the groups, written together by the shared group commit.
  for (let g = 0; g < storages.length; g++) {
    if (random() < 0.4) continue;
    const storage = storages[g];
    const group = ENGINE_CRASH_GROUPS[g];
    const next = storage.lastIndex() + 1;
    if (next > MAX_INDEX) process.exit(0);
    const size = random() < 0.1 ? 1 + Math.floor(random() * 500) : 1 + Math.floor(random() * 32);
    const entries = Array.from({ length: size }, (_, i) => crashEntry(next + i));
    const last = next + size - 1;
    process.stdout.write(`sent ${group} ${last}\n`);
    inFlight.push(storage.append(entries, crashHardState(last)).then(() => process.stdout.write(`ack ${group} ${last}\n`)));
  }
  while (inFlight.length > 6) await inFlight.shift();
  await new Promise((resolve) => setImmediate(resolve));
}
