/**
 * `keel kv backup`: a consistent copy of a running node's store, taken
 * through its HTTP API (`GET /admin/backup`, a linearizable snapshot at one
 * applied index, with a checksum), written to a new file. The file appears
 * only once it is complete and its checksum matched; an existing file is
 * never overwritten.
 *
 * @packageDocumentation
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { link, open, stat, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { CorruptionError } from '../src/errors.js';
import { readBackup } from '../src/kv/backup-format.js';
import type { BackupHeader } from '../src/kv/backup-format.js';
import { integerOption, parseOptions, UsageError, withUsage } from './args.js';
import { kvRequest, parseNodeUrl, readCaFile, readTokenFile } from './kv-client.js';
import type { KvClientOptions } from './kv-client.js';

export const KV_BACKUP_HELP = `Usage: keel kv backup --node URL --to FILE [--token-file PATH] [--ca PATH] [--timeout-ms N]

Takes a consistent backup of a running node's key-value store through its
HTTP API (GET /admin/backup): every write committed before the backup began
is in it. The file is written only once the whole backup arrived and its
checksum matched. Seed a new cluster from it with \`keel kv restore\`.

Options:
  --node URL          the node's HTTP API, e.g. http://127.0.0.1:8001 or https://...
  --to FILE           the backup file to create; an existing file is not overwritten
  --token-file PATH   a file holding a token with the admin scope (first line),
                      when the node requires tokens
  --ca PATH           the CA certificate (PEM) of an HTTPS node, when not a public one
  --timeout-ms N      deadline for the backup, in ms (default 60000)

Exit code 0 on success, 2 on bad usage or when the node cannot serve a backup
(down, not a member of a cluster with a leader, refused the token).
`;

/** Runs `keel kv backup`. */
export function runKvBackup(args: readonly string[]): Promise<number> {
  return withUsage(KV_BACKUP_HELP, async () => {
    const values = parseOptions(args, {
      node: { type: 'string' },
      to: { type: 'string' },
      'token-file': { type: 'string' },
      ca: { type: 'string' },
      'timeout-ms': { type: 'string' },
      help: { type: 'boolean' },
    });
    if (values.help === true) {
      process.stdout.write(KV_BACKUP_HELP);
      return 0;
    }
    if (values.node === undefined) throw new UsageError('--node is required');
    if (values.to === undefined) throw new UsageError('--to is required');
    const url = parseNodeUrl(values.node);
    const client: KvClientOptions = {
      token: values['token-file'] === undefined ? null : readTokenFile(values['token-file']),
      ca: values.ca === undefined ? null : readCaFile(values.ca),
      timeoutMs: integerOption('timeout-ms', values['timeout-ms'], 60_000, 1, 86_400_000),
    };
    const { header, bytes } = await backUp(url, values.to, client);
    process.stdout.write(`backed up ${header.keys} keys at applied index ${header.appliedIndex} from node ${header.node} to ${values.to} (${bytes} bytes)\n`);
    return 0;
  });
}

/** Checks that the node is a member that knows a leader, then downloads, verifies and publishes the backup. */
async function backUp(url: URL, path: string, client: KvClientOptions): Promise<{ header: BackupHeader; bytes: number }> {
  await checkMember(url, client);
  const partial = `${path}.partial-${process.pid}`;
  try {
    // Created here and now, so no existing file is ever truncated.
    await (await open(partial, 'wx')).close();
  } catch (error) {
    throw new UsageError(`--to ${path}: cannot create ${partial}: ${(error as Error).message}`);
  }
  try {
    const response = await reach(url, () => kvRequest(new URL('/admin/backup', url), 'GET', client));
    if (response.status !== 200) await refused(url, response.status, await response.text(), 'serve a backup');
    await reach(url, () => pipeline(response.body, createWriteStream(partial)));
    const handle = await open(partial, 'r');
    await handle.sync().finally(() => handle.close());
    const header = await verify(partial, url);
    const bytes = (await stat(partial)).size;
    try {
      await link(partial, path);
    } catch (error) {
      throw new UsageError(`--to ${path}: ${(error as NodeJS.ErrnoException).code === 'EEXIST' ? 'the file exists; nothing was overwritten' : (error as Error).message}`);
    }
    return { header, bytes };
  } finally {
    await unlink(partial).catch(() => undefined);
  }
}

/** Reads `/status`: the node must be up, a member of its configuration, and know a leader. */
async function checkMember(url: URL, client: KvClientOptions): Promise<void> {
  const response = await reach(url, () => kvRequest(new URL('/status', url), 'GET', client));
  const text = await response.text();
  if (response.status !== 200) await refused(url, response.status, text, 'report its status');
  const status = JSON.parse(text) as { id: string; members: string[]; learners: string[]; leader: string | null; removed: boolean };
  const member = status.members.includes(status.id) || status.learners.includes(status.id);
  if (status.removed || !member) throw new UsageError(`node ${status.id} at ${url.origin} is not a member of its cluster (members: ${status.members.join(', ') || 'none'}); back up a member instead`);
  if (status.leader === null) throw new UsageError(`node ${status.id} at ${url.origin} knows no leader: its cluster has no quorum now, so no consistent backup can be taken`);
}

/** Runs a request; a node that cannot be reached is a usage error naming it. */
async function reach<T>(url: URL, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot reach the node at ${url.origin}: ${(error as Error).message}${code === 'ECONNREFUSED' ? ' (is it running?)' : ''}`);
  }
}

/** Turns a refusal into a usage error that says what to do. */
async function refused(url: URL, status: number, body: string, what: string): Promise<never> {
  let message = body.trim();
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? message;
  } catch {
    // Not JSON: the text as it is.
  }
  const hint = status === 401 ? ': give --token-file with a token of the admin scope' : status === 403 ? ': the token needs the admin scope' : status === 503 ? ': the node has no quorum or no leader now' : '';
  throw new UsageError(`the node at ${url.origin} did not ${what} (${status}: ${message})${hint}`);
}

/** Checks a downloaded backup end to end before it is published. */
async function verify(path: string, url: URL): Promise<BackupHeader> {
  try {
    return await readBackup(createReadStream(path));
  } catch (error) {
    if (error instanceof CorruptionError) throw new UsageError(`the backup from ${url.origin} is not valid (${error.message}); nothing was written`);
    throw error;
  }
}
