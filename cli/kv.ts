import { withUsage } from './args.js';
import { jsonLogger } from './json-log.js';
import { runKvBackup } from './kv-backup.js';
import { startKvNode } from './kv-node.js';
import { startShardedKv } from './kv-sharded.js';
import { KV_HELP, parseKvOptions } from './kv-options.js';
import { runKvRestore } from './kv-restore.js';

/**
 * `keel kv`: runs one node of the KV service until SIGTERM or SIGINT (exit 0)
 * or a fatal error (exit 1). Bad usage, including an unusable data directory
 * or address, exits 2 with the reason. `keel kv backup` and `keel kv restore`
 * take and restore backups.
 */
export function runKv(args: readonly string[]): Promise<number> {
  if (args[0] === 'backup') return runKvBackup(args.slice(1));
  if (args[0] === 'restore') return runKvRestore(args.slice(1));
  return withUsage(KV_HELP, async () => {
    const options = parseKvOptions(args);
    if (options === 'help') {
      process.stdout.write(KV_HELP);
      return 0;
    }
    const log = jsonLogger(options.logLevel, { node: options.id });
    const running = options.sharding === null ? await startKvNode(options, log) : await startShardedKv(options, options.sharding, log);
    const code = await new Promise<number>((resolve) => {
      const stop = (signal: NodeJS.Signals): void => {
        log.info({ signal }, 'stopping');
        resolve(0);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      if ('node' in running) running.node.once('fatal', () => resolve(1));
      else void running.fatal.then(() => resolve(1));
    });
    await running.close();
    log.info({ exitCode: code }, 'stopped');
    return code;
  });
}
