/**
 * The options of `keel kv`, parsed and checked before anything starts: every
 * mistake is a {@link UsageError} (exit code 2) naming the option.
 *
 * @packageDocumentation
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { InvalidConfigError } from '../src/errors.js';
import { HttpTokens } from '../src/kv/http-auth.js';
import { isLogLevel } from './json-log.js';
import type { LogLevel } from './json-log.js';
import { integerOption, parseOptions, UsageError } from './args.js';

/** A host and port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** How peers authenticate each other. */
export type PeerAuth =
  | { readonly kind: 'hmac'; readonly secret: Uint8Array }
  | { readonly kind: 'tls'; readonly cert: Buffer; readonly key: Buffer; readonly ca: Buffer }
  | { readonly kind: 'insecure' };

/**
 * How the HTTP API is protected: HTTPS with this certificate and key, bearer
 * tokens, either, both or neither (loopback, or `--insecure-http`).
 */
export interface HttpSecurity {
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | null;
  readonly tokens: HttpTokens | null;
}

/** Everything `keel kv` runs with. */
export interface KvCommandOptions {
  readonly id: string;
  readonly clusterId: string;
  /** Every member's address, this node's own (its listen address) included. */
  readonly peers: ReadonlyMap<string, HostPort>;
  /** Start with no configuration, to be added to the running cluster of `peers` (`POST /admin/members`). */
  readonly join: boolean;
  readonly http: HostPort;
  readonly httpSecurity: HttpSecurity;
  readonly dataDir: string;
  readonly auth: PeerAuth;
  readonly tickIntervalMs: number;
  readonly electionTicks: number;
  readonly requestTimeoutMs: number;
  readonly logLevel: LogLevel;
  /**
   * With `--shards N`: the node is a host of a sharded cluster (docs/kv.md,
   * "Sharded"), running a replica of every shard the ring places on it.
   */
  readonly sharding: ShardingOptions | null;
}

/** `keel kv --shards N [--replicas R] --http-peers ...`. */
export interface ShardingOptions {
  readonly shards: number;
  readonly replicas: number;
  /** Join a running sharded cluster: the shard replicas start empty, to be added once every host is told the new list (`POST /admin/hosts`). */
  readonly join: boolean;
  /** Every host's HTTP address (this one's included, as `--http`), for requests this host proxies. */
  readonly httpPeers: ReadonlyMap<string, HostPort>;
  /**
   * `--http-ca`: the CA (PEM) that signed the other hosts' HTTPS certificates,
   * trusted when proxying to them; null: the system's CAs. Only with HTTPS.
   */
  readonly httpCa: Buffer | null;
}

/** Shortest accepted HMAC secret, in bytes. */
const MIN_SECRET_BYTES = 16;

export const KV_HELP = `Usage: keel kv --id ID --peers ID=HOST:PORT,... --http HOST:PORT --data DIR
               (--secret-file PATH | --tls-cert PATH --tls-key PATH --tls-ca PATH | --insecure)
               [--http-tls-cert PATH --http-tls-key PATH] [--http-tokens PATH] [--insecure-http]
               [--join] [--cluster-id NAME] [--tick-ms N] [--election-ticks N] [--request-timeout-ms N] [--log-level LEVEL]
               [--shards N [--replicas R] --http-peers ID=HOST:PORT,... [--http-ca PATH]]
       keel kv backup --node URL --to FILE [--token-file PATH] [--ca PATH] [--timeout-ms N]
       keel kv restore --from FILE --data DIR

Runs one node of the replicated key-value service: Raft over TCP, the log and
snapshots under --data, the HTTP API (docs/kv.md) on --http. \`keel kv backup\`
and \`keel kv restore\` are described by \`keel kv backup --help\` and
\`keel kv restore --help\`.

Options:
  --id ID                 this node's id; must be one of --peers
  --peers LIST            every member as ID=HOST:PORT, comma-separated: the
                          addresses this node dials; its own entry is where it listens
  --join                  join a running cluster: start with no configuration and
                          wait to be added (POST /admin/members on its leader);
                          --peers lists this node and the members to dial. With
                          --shards: a new host, whose replicas are added once every
                          host is sent the new list (POST /admin/hosts)
  --http HOST:PORT        where the HTTP API listens; an address other than loopback
                          needs --http-tls-cert/--http-tls-key and --http-tokens
                          (or --insecure-http)
  --http-tls-cert/--http-tls-key PATH
                          serve HTTPS with this certificate chain and key (PEM)
  --http-tokens PATH      clients must send Authorization: Bearer TOKEN; the file has
                          lines "SCOPE TOKEN", scope read, write or admin (docs/kv.md)
  --insecure-http         serve a non-loopback address without HTTPS or tokens
  --data DIR              data directory (created if missing): log/ and snapshots/
  --secret-file PATH      peers authenticate with an HMAC challenge on this shared
                          secret (at least ${MIN_SECRET_BYTES} bytes; the file's bytes, trailing newline dropped)
  --tls-cert/--tls-key/--tls-ca PATH
                          mutual TLS: this node's certificate (naming its id) and key,
                          and the cluster's CA
  --insecure              no peer authentication (loopback experiments only)
  --cluster-id NAME       peers of another cluster are refused (default keel)
  --tick-ms N             Raft tick interval in ms (default 100)
  --election-ticks N      election timeout in ticks (default 10)
  --request-timeout-ms N  HTTP request deadline; past it the answer is 503 (default 5000)
  --log-level LEVEL       debug, info, warn or error (default info); JSON lines on stderr
  --shards N              sharded: the key space is split over N Raft groups by
                          consistent hashing; this node hosts a replica of each
                          shard placed on it (docs/kv.md, "Sharded")
  --replicas R            replicas per shard (default 3, at most the number of --peers)
  --http-peers LIST       with --shards: every node's HTTP address as ID=HOST:PORT,
                          so that any node can pass a request to a node holding its shard
  --http-ca PATH          with --shards and --http-tls-cert: the CA certificate (PEM)
                          that signed the other nodes' HTTPS certificates, trusted when
                          passing them a request (default: the system's CAs)

With --shards, --http-tls-cert/--http-tls-key, --http-tokens and --insecure-http
work as without it: give every node the same ones. A request passed to another
node carries the client's own token, which that node checks again.

SIGTERM and SIGINT stop the node gracefully. Exit code 2 on bad usage.
`;

/** Parses and checks `keel kv`'s arguments; reads the secret or TLS files. Throws {@link UsageError}. */
export function parseKvOptions(args: readonly string[]): KvCommandOptions | 'help' {
  const values = parseOptions(args, {
    id: { type: 'string' },
    peers: { type: 'string' },
    http: { type: 'string' },
    data: { type: 'string' },
    'secret-file': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-ca': { type: 'string' },
    insecure: { type: 'boolean' },
    'http-tls-cert': { type: 'string' },
    'http-tls-key': { type: 'string' },
    'http-tokens': { type: 'string' },
    'insecure-http': { type: 'boolean' },
    join: { type: 'boolean' },
    'cluster-id': { type: 'string' },
    'tick-ms': { type: 'string' },
    'election-ticks': { type: 'string' },
    'request-timeout-ms': { type: 'string' },
    'log-level': { type: 'string' },
    shards: { type: 'string' },
    replicas: { type: 'string' },
    'http-peers': { type: 'string' },
    'http-ca': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help === true) return 'help';
  const id = required('id', values.id);
  const peers = parsePeers(required('peers', values.peers));
  if (!peers.has(id)) throw new UsageError(`--peers has no entry for this node's id '${id}' (its own entry is its listen address)`);
  const logLevel = values['log-level'] ?? 'info';
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level must be debug, info, warn or error, got '${logLevel}'`);
  const http = parseHostPort('http', required('http', values.http));
  const sharding = parseSharding(values, peers, values.join === true);
  return {
    id,
    clusterId: values['cluster-id'] ?? 'keel',
    peers,
    join: values.join === true,
    http,
    httpSecurity: parseHttpSecurity(http, values),
    dataDir: required('data', values.data),
    auth: parseAuth(values),
    tickIntervalMs: integerOption('tick-ms', values['tick-ms'], 100, 1, 60_000),
    electionTicks: integerOption('election-ticks', values['election-ticks'], 10, 2, 1000),
    requestTimeoutMs: integerOption('request-timeout-ms', values['request-timeout-ms'], 5000, 1, 3_600_000),
    logLevel,
    sharding,
  };
}

function parseSharding(
  values: {
    readonly shards?: string | undefined;
    readonly replicas?: string | undefined;
    readonly 'http-peers'?: string | undefined;
    readonly 'http-tls-cert'?: string | undefined;
    readonly 'http-ca'?: string | undefined;
  },
  peers: ReadonlyMap<string, HostPort>,
  join: boolean,
): ShardingOptions | null {
  if (values.shards === undefined) {
    if (values.replicas !== undefined || values['http-peers'] !== undefined || values['http-ca'] !== undefined) throw new UsageError('--replicas, --http-peers and --http-ca need --shards');
    return null;
  }
  if (values['http-ca'] !== undefined && values['http-tls-cert'] === undefined) {
    throw new UsageError('--http-ca is the CA of the other nodes\' HTTPS certificates: it needs --http-tls-cert and --http-tls-key (the nodes of a sharded cluster all serve HTTPS, or none does)');
  }
  const shards = integerOption('shards', values.shards, 1, 1, 10_000);
  const replicas = integerOption('replicas', values.replicas, Math.min(3, peers.size), 1, peers.size);
  const httpPeers = values['http-peers'] === undefined ? new Map<string, HostPort>() : parsePeers(values['http-peers'], 'http-peers');
  for (const id of httpPeers.keys()) if (!peers.has(id)) throw new UsageError(`--http-peers names '${id}', which is not in --peers`);
  if (replicas < peers.size) {
    for (const id of peers.keys()) if (!httpPeers.has(id)) throw new UsageError(`--http-peers has no entry for '${id}': with fewer replicas than nodes, every node must be reachable over HTTP`);
  }
  return { shards, replicas, httpPeers, join, httpCa: values['http-ca'] === undefined ? null : readCaOption(values['http-ca']) };
}

/** Reads `--http-ca` and checks that it holds a usable certificate. */
function readCaOption(path: string): Buffer {
  const ca = readOptionFile('http-ca', path);
  try {
    // node:tls takes any text as a CA and trusts nothing from it; parsing says what is wrong now, not at the first proxied request.
    new X509Certificate(ca);
  } catch (error) {
    throw new UsageError(`--http-ca ${path}: not a usable CA certificate: ${(error as Error).message}`);
  }
  return ca;
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value.length === 0) throw new UsageError(`--${name} is required`);
  return value;
}

/** `ID=HOST:PORT,...` into a map; duplicate ids and malformed entries are usage errors. */
export function parsePeers(text: string, option = 'peers'): Map<string, HostPort> {
  const peers = new Map<string, HostPort>();
  for (const item of text.split(',')) {
    const equals = item.indexOf('=');
    if (equals <= 0) throw new UsageError(`--${option} entry '${item}' is not ID=HOST:PORT`);
    const id = item.slice(0, equals);
    if (peers.has(id)) throw new UsageError(`--${option} names '${id}' twice`);
    peers.set(id, parseHostPort(option, item.slice(equals + 1), id));
  }
  return peers;
}

function parseHostPort(option: string, text: string, id?: string): HostPort {
  const where = id === undefined ? `--${option}` : `--${option} entry for '${id}'`;
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65535) throw new UsageError(`${where} must be HOST:PORT with a port from 1 to 65535, got '${text}'`);
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

function parseAuth(values: Readonly<Record<string, string | boolean | undefined>>): PeerAuth {
  const secretFile = values['secret-file'] as string | undefined;
  const tls = ['tls-cert', 'tls-key', 'tls-ca'].map((name) => values[name] as string | undefined);
  const insecure = values['insecure'] === true;
  const modes = [secretFile !== undefined, tls.some((path) => path !== undefined), insecure].filter(Boolean).length;
  if (modes === 0) {
    throw new UsageError('peers must authenticate: give --secret-file PATH (HMAC), or --tls-cert, --tls-key and --tls-ca (mutual TLS), or --insecure for loopback experiments');
  }
  if (modes > 1) throw new UsageError('choose one of --secret-file, the --tls-* options and --insecure');
  if (insecure) return { kind: 'insecure' };
  if (secretFile !== undefined) {
    const secret = readOptionFile('secret-file', secretFile);
    const trimmed = secret.subarray(0, secret.byteLength - (secret.at(-1) === 0x0a ? 1 : 0));
    if (trimmed.byteLength < MIN_SECRET_BYTES) throw new UsageError(`--secret-file holds ${trimmed.byteLength} bytes; at least ${MIN_SECRET_BYTES} are needed`);
    return { kind: 'hmac', secret: trimmed };
  }
  const [cert, key, ca] = tls;
  if (cert === undefined || key === undefined || ca === undefined) throw new UsageError('mutual TLS needs all three of --tls-cert, --tls-key and --tls-ca');
  return { kind: 'tls', cert: readOptionFile('tls-cert', cert), key: readOptionFile('tls-key', key), ca: readOptionFile('tls-ca', ca) };
}

/** True for an address only this machine can reach: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The HTTP API's protection. Off loopback, HTTPS and tokens are both
 * required unless `--insecure-http` says otherwise: anyone who reaches the
 * port could otherwise read, write and change the membership.
 */
function parseHttpSecurity(http: HostPort, values: Readonly<Record<string, string | boolean | undefined>>): HttpSecurity {
  const certPath = values['http-tls-cert'] as string | undefined;
  const keyPath = values['http-tls-key'] as string | undefined;
  const tokensPath = values['http-tokens'] as string | undefined;
  if ((certPath === undefined) !== (keyPath === undefined)) throw new UsageError('HTTPS needs both --http-tls-cert and --http-tls-key');
  if (!isLoopback(http.host) && values['insecure-http'] !== true && (certPath === undefined || tokensPath === undefined)) {
    throw new UsageError(
      `--http ${http.host}:${http.port} is not a loopback address, so clients must use HTTPS and a bearer token: give --http-tls-cert, --http-tls-key and --http-tokens ` +
        '(or --insecure-http to serve it without them, for a network you trust)',
    );
  }
  const tls = certPath === undefined || keyPath === undefined ? null : { cert: readOptionFile('http-tls-cert', certPath), key: readOptionFile('http-tls-key', keyPath) };
  if (tls !== null) {
    try {
      createSecureContext(tls);
    } catch (error) {
      throw new UsageError(`--http-tls-cert/--http-tls-key: not a usable certificate and key: ${(error as Error).message}`);
    }
  }
  return { tls, tokens: tokensPath === undefined ? null : parseTokensFile(tokensPath) };
}

function parseTokensFile(path: string): HttpTokens {
  try {
    return HttpTokens.parse(readOptionFile('http-tokens', path).toString('utf8'));
  } catch (error) {
    if (error instanceof InvalidConfigError) throw new UsageError(`--http-tokens ${path}: ${error.message.replace(/^invalid config http tokens: /, '')}`);
    throw error;
  }
}

function readOptionFile(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`--${option}: cannot read ${path}: ${(error as Error).message}`);
  }
}
