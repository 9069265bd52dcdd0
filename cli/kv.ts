import { withUsage } from './args.js';
import { jsonLog } from './json-log.js';
import { startKvNode } from './kv-node.js';
import { startShardedKv } from './kv-sharded.js';
import { KV_HELP, parseKvOptions } from './kv-options.js';

/**
 * `keel kv`: runs one node of the KV service until SIGTERM or SIGINT (exit 0)
 * or a fatal error (exit 1). Bad usage, including an unusable data directory
 * or address, exits 2 with the reason.
 */
export function runKv(args: readonly string[]): Promise<number> {
  return withUsage(KV_HELP, async () => {
    const options = parseKvOptions(args);
    if (options === 'help') {
      process.stdout.write(KV_HELP);
      return 0;
    }
    const log = jsonLog((line) => process.stderr.write(line), options.logLevel, { node: options.id });
    const running = options.sharding === null ? await startKvNode(options, log) : await startShardedKv(options, options.sharding, log);
    const code = await new Promise<number>((resolve) => {
      const stop = (signal: NodeJS.Signals): void => {
        log('info', 'stopping', { signal });
        resolve(0);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      if ('node' in running) running.node.once('fatal', () => resolve(1));
      else void running.fatal.then(() => resolve(1));
    });
    await running.close();
    log('info', 'stopped', { exitCode: code });
    return code;
  });
}
