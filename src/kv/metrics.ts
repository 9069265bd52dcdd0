/**
 * The KV service's Prometheus metrics, on `prom-client`: the process metrics
 * every Node.js exporter gives (event-loop lag, GC, heap, handles, CPU, file
 * descriptors) and Keel's own, read from {@link RaftNode.metrics} when
 * scraped or counted as the service works. The names are stable and listed in
 * docs/kv.md.
 *
 * Not part of the `keel` library entry: only the service (`keel kv`,
 * `keel/kv`) loads prom-client.
 *
 * @packageDocumentation
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { InvalidArgumentError } from '../errors.js';
import type { RaftNode } from '../node/raft-node.js';
import type { KvResult } from './commands.js';
import type { AuthRefusal } from './http-auth.js';
import type { KvStore } from './store.js';

/** Bytes a transport has moved, for `/metrics`. */
export interface TransportCounters {
  /** Bytes sent to peers. */
  readonly sentBytes: number;
  /** Bytes received from peers. */
  readonly receivedBytes: number;
}

/** Options of {@link KvMetrics}. */
export interface KvMetricsOptions {
  /** Collect prom-client's default process and Node.js metrics. @defaultValue true */
  readonly processMetrics?: boolean;
  /** The transport's byte counters, when it keeps them. */
  readonly transportCounters?: () => TransportCounters;
}

const ROLES = ['follower', 'preCandidate', 'candidate', 'leader', 'stopped'] as const;
const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SYNC_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const SNAPSHOT_BYTES_BUCKETS = [1024, 16 * 1024, 256 * 1024, 1024 ** 2, 16 * 1024 ** 2, 256 * 1024 ** 2, 1024 ** 3, 4 * 1024 ** 3];
const SNAPSHOT_SECONDS_BUCKETS = [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

/**
 * One node's metrics registry. Create it, hand its observers to the
 * instrumented storage (see instrumented-storage.ts), then {@link watch} the
 * node once it is open; {@link render} gives the text exposition.
 */
export class KvMetrics {
  /** The prom-client registry `/metrics` renders; register your own metrics on it. */
  readonly registry = new Registry();
  private watched: RaftNode<KvResult> | null = null;
  private readonly proposals: Counter<'outcome'>;
  private readonly reads: Counter<'outcome'>;
  private readonly applyLatency: Histogram;
  private readonly snapshots: Counter;
  private readonly snapshotFailures: Counter;
  private readonly snapshotBytes: Histogram;
  private readonly snapshotSeconds: Histogram;
  private readonly storageSync: Histogram;
  private readonly requests: Counter<'route' | 'code'>;
  private readonly authRefusals: Counter<'reason'>;
  private readonly backups: Counter<'outcome'>;

  /** A registry with Keel's counters and histograms (and prom-client's process metrics unless `processMetrics` is false); gauges of the node come with {@link watch}. */
  constructor(options: KvMetricsOptions = {}) {
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.proposals = new Counter({ name: 'keel_proposals_total', help: 'Writes proposed through this node, by outcome (ok, error).', labelNames: ['outcome'], registers });
    this.reads = new Counter({ name: 'keel_reads_total', help: 'Linearizable reads (ReadIndex barriers) served by this node, by outcome (ok, error).', labelNames: ['outcome'], registers });
    this.applyLatency = new Histogram({ name: 'keel_apply_latency_seconds', help: 'Time from proposing a write to its applied result on this node.', buckets: LATENCY_BUCKETS_SECONDS, registers });
    this.snapshots = new Counter({ name: 'keel_snapshots_total', help: 'Snapshots taken or installed by this node.', registers });
    this.snapshotFailures = new Counter({ name: 'keel_snapshot_failures_total', help: 'Attempts to take a snapshot that failed (the node retries later).', registers });
    this.snapshotBytes = new Histogram({ name: 'keel_snapshot_bytes', help: 'Size of each snapshot written to the snapshot store (taken here or received from the leader).', buckets: SNAPSHOT_BYTES_BUCKETS, registers });
    this.snapshotSeconds = new Histogram({ name: 'keel_snapshot_write_seconds', help: 'Time from starting a snapshot write to its commit in the snapshot store.', buckets: SNAPSHOT_SECONDS_BUCKETS, registers });
    this.storageSync = new Histogram({ name: 'keel_storage_sync_seconds', help: 'Time a log write (entries, hard state or snapshot record) took to become durable, fsync included.', buckets: SYNC_BUCKETS_SECONDS, registers });
    this.requests = new Counter({ name: 'keel_http_requests_total', help: 'HTTP requests served, by route and status code.', labelNames: ['route', 'code'], registers });
    this.authRefusals = new Counter({ name: 'keel_http_auth_refusals_total', help: 'HTTP requests refused before they ran: no token (missing), an unknown token (invalid), or a token without the scope the route needs (scope).', labelNames: ['reason'], registers });
    this.backups = new Counter({ name: 'keel_backups_total', help: 'Backups served through GET /admin/backup, by outcome (ok, error).', labelNames: ['outcome'], registers });
    const counters = options.transportCounters;
    if (counters !== undefined) {
      new Counter({
        name: 'keel_transport_bytes_total',
        help: 'Bytes the transport sent and received.',
        labelNames: ['direction'],
        registers,
        collect() {
          const { sentBytes, receivedBytes } = counters();
          this.reset();
          this.inc({ direction: 'sent' }, sentBytes);
          this.inc({ direction: 'received' }, receivedBytes);
        },
      });
    }
  }

  /**
   * Reads `node` and `store` on every scrape and counts the node's snapshot
   * events. Call once, with the node this registry measures; calling again
   * with the same node does nothing, with another throws `InvalidArgumentError`.
   */
  watch(node: RaftNode<KvResult>, store: KvStore): void {
    if (this.watched === node) return;
    if (this.watched !== null) throw new InvalidArgumentError('KvMetrics.watch: this registry already measures another node');
    this.watched = node;
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: (m: ReturnType<RaftNode['metrics']>) => number): void => {
      new Gauge({ name, help, registers, collect() { this.set(read(node.metrics())); } });
    };
    new Gauge({
      name: 'keel_role',
      help: 'The node\'s Raft role (1 for the current one).',
      labelNames: ['role'],
      registers,
      collect() {
        const role = node.metrics().role;
        for (const name of ROLES) this.set({ role: name }, name === role ? 1 : 0);
      },
    });
    gauge('keel_term', 'The node\'s current term.', (m) => m.term);
    gauge('keel_commit_index', 'The highest log index known to be committed.', (m) => m.commitIndex);
    gauge('keel_applied_index', 'The highest log index applied to the store.', (m) => m.appliedIndex);
    gauge('keel_first_index', 'The first index still in the log (older entries are covered by a snapshot).', (m) => m.firstIndex);
    gauge('keel_last_index', 'The last index in the log.', (m) => m.lastIndex);
    gauge('keel_pending_proposals', 'Proposals made on this node that have not settled.', (m) => m.pendingProposals);
    gauge('keel_pending_reads', 'Read barriers waiting on this node.', (m) => m.pendingReads);
    new Gauge({
      name: 'keel_replication_lag_entries',
      help: 'On the leader: entries of its log each peer is not known to have (last index - match index). Absent on other roles.',
      labelNames: ['peer'],
      registers,
      collect() {
        this.reset();
        for (const [peer, lag] of node.metrics().replicationLag) this.set({ peer }, lag);
      },
    });
    new Gauge({ name: 'keel_kv_keys', help: 'Keys in the local store.', registers, collect() { this.set(store.size); } });
    node.on('snapshot', () => this.snapshots.inc());
    node.on('snapshotFailed', () => this.snapshotFailures.inc());
  }

  /** A write settled: `ok` with the time from proposing to its applied result, or `error`. */
  proposal(outcome: 'ok' | 'error', seconds?: number): void {
    this.proposals.inc({ outcome });
    if (outcome === 'ok' && seconds !== undefined) this.applyLatency.observe(seconds);
  }

  /** A read barrier settled. */
  read(outcome: 'ok' | 'error'): void {
    this.reads.inc({ outcome });
  }

  /** An HTTP request was answered. */
  request(route: string, code: number): void {
    this.requests.inc({ route, code: String(code) });
  }

  /** An HTTP request was refused by authentication or authorization. */
  authRefused(reason: AuthRefusal): void {
    this.authRefusals.inc({ reason });
  }

  /** A backup was served (or failed while being served). */
  backup(outcome: 'ok' | 'error'): void {
    this.backups.inc({ outcome });
  }

  /** A log write became durable after `seconds`. */
  storageSynced(seconds: number): void {
    this.storageSync.observe(seconds);
  }

  /** A snapshot of `bytes` was committed to the snapshot store, `seconds` after its write began. */
  snapshotWritten(bytes: number, seconds: number): void {
    this.snapshotBytes.observe(bytes);
    this.snapshotSeconds.observe(seconds);
  }

  /** The `Content-Type` of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition format of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
