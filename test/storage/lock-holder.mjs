// Holds a LevelStorage open in a separate process until its stdin closes,
// so that the parent can check that a second open fails with StorageLockedError.
// Usage: node lock-holder.mjs <location> <nodeId>
import { LevelStorage } from '../../dist/src/storage/level.js';

const [location, nodeId] = process.argv.slice(2);
const storage = await LevelStorage.open({ location, nodeId });
process.stdout.write('open\n');
process.stdin.resume();
process.stdin.on('end', () => {
  void storage.close().then(() => process.stdout.write('closed\n'));
});
