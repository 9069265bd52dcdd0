import type { RaftStatus } from '../core/raw-node.js';
import type { Entry, HardState, Index, Membership, NodeId, Role, Term } from '../core/types.js';

/** What a checker sees of one live node after a step. */
export interface NodeObservation {
  /** The node's id. */
  readonly id: NodeId;
  /** The node's current role. */
  readonly role: Role;
  /** The node's current term. */
  readonly term: Term;
  /** The candidate it voted for in `term`, or null. */
  readonly vote: NodeId | null;
  /** Term and vote as stored durably: these must survive a crash. */
  readonly durableTerm: Term;
  /** The vote as stored durably (see `durableTerm`). */
  readonly durableVote: NodeId | null;
  /** The highest index it knows to be committed. */
  readonly commitIndex: Index;
  /** The highest index its state machine applied. */
  readonly appliedIndex: Index;
  /** The first index still in its log. */
  readonly firstIndex: Index;
  /** The index of its last log entry. */
  readonly lastIndex: Index;
  /** Term of the entry at an index of this node's log, undefined when compacted or absent. */
  termAt(index: Index): Term | undefined;
  /** On a leader: each member's match index (its own durable index included while it is a member). */
  readonly matchIndex: ReadonlyMap<NodeId, Index>;
  /** The configuration in force on this node. */
  readonly membership: Membership;
  /** Indexes of the config entries in this node's log above its base configuration (snapshot or initial), oldest first. */
  readonly configIndexes: readonly Index[];
}

/**
 * What the checker sees of a node, from its core's status, its durable hard
 * state (as the storage holds it) and a way to read its log's terms.
 */
export function observationOf(
  status: RaftStatus,
  durable: HardState,
  termAt: (index: Index) => Term | undefined,
  configIndexes: readonly Index[] = [],
): NodeObservation {
  const matchIndex = new Map<NodeId, Index>();
  for (const [id, progress] of status.progress) matchIndex.set(id, progress.match);
  return {
    id: status.id,
    role: status.role,
    term: status.term,
    vote: status.vote,
    durableTerm: durable.term,
    durableVote: durable.vote,
    commitIndex: status.commitIndex,
    appliedIndex: status.appliedIndex,
    firstIndex: status.firstIndex,
    lastIndex: status.lastIndex,
    termAt,
    matchIndex,
    membership: status.membership,
    configIndexes,
  };
}

/** Why a majority of each half of `membership` does not hold the leader's commit index, or null when one does. */
function commitQuorumProblem(node: NodeObservation, membership: Membership): string | null {
  for (const half of [membership.voters, membership.outgoingVoters ?? []]) {
    if (half.length === 0) continue;
    const holding = half.filter((id) => (node.matchIndex.get(id) ?? 0) >= node.commitIndex).length;
    if (holding <= half.length / 2) return `committed ${node.commitIndex} held by only ${holding} of [${half.join(',')}]`;
  }
  return null;
}

/** A broken safety property, with enough context to debug it. */
export class SafetyViolation extends Error {
  /** `detail` says what broke, with the numbers. */
  constructor(
    /** The broken invariant's name (`Election Safety`, `Log Matching`, …). */
    readonly invariant: string,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

/**
 * Checks the safety properties of Raft (paper Figure 3, plus what
 * practitioners add; see section 2 of the Raft notes) over the whole history
 * of a cluster: call {@link observe} after every step with every live node,
 * {@link recordApplied} for every entry a node applies, and
 * {@link recordRestart} when a node restarts. Throws {@link SafetyViolation}.
 */
export class SafetyChecker {
  /** Election Safety: the one leader of each term. */
  private readonly leaderOfTerm = new Map<Term, NodeId>();
  /** The canonical committed sequence: the first entry applied at each index anywhere. */
  private readonly committed = new Map<Index, { term: Term; data: string }>();
  private committedMax = 0;
  /**
   * The term in which each committed index was first committed: ranges of
   * indexes in order, each with the term of the node first seen holding
   * them committed (the lowest term when several were seen at once).
   */
  private readonly commitTerms: { readonly from: Index; readonly term: Term }[] = [];
  private commitSeen = 0;
  /** Every (index, term) ever seen maps to one entry: the Log Matching property's base case. */
  private readonly entryOf = new Map<string, string>();
  /** The (index, term) of every config entry seen, to check that a node's config history matches its entries. */
  private readonly configEntries = new Set<string>();
  /** Per leader and term: the config entries already checked, and the commit index at the last observation. */
  private readonly leaderConfig = new Map<string, { seen: Set<Index>; commit: Index; membership: Membership }>();
  private readonly last = new Map<NodeId, { term: Term; vote: NodeId | null; commit: Index; applied: Index; restarted: boolean }>();
  private readonly lastDurableTerm = new Map<NodeId, Term>();
  /** Leader Append-Only: the log a leader had when last observed, per (leader, term). */
  private readonly leaderLog = new Map<string, LogTerms>();
  private readonly leaderMatch = new Map<string, Map<NodeId, Index>>();
  /** Vote durability: the vote each node cast in each term, across restarts. */
  private readonly votes = new Map<string, NodeId>();
  /** Each node's log as read for its last observation (see {@link observe}). */
  private readonly lastLogs = new Map<NodeId, LogTerms>();
  /** How many observations were checked: a test can assert that the checker ran. */
  steps = 0;

  /**
   * A checker that has seen nothing yet; feed it with {@link observe}.
   * @param options.checkElectionVotes - also check that every new leader holds
   *   durable votes from a majority of each half of its configuration. Needs
   *   every durable vote observed before the node moves to a later term (the
   *   core cluster observes after every step); off by default.
   */
  constructor(private readonly options: { readonly checkElectionVotes?: boolean } = {}) {}

  /** Records an entry that a node made durable or received, to check one entry per (index, term). */
  recordEntry(entry: Entry): void {
    const key = `${entry.index}/${entry.term}`;
    const data = `${entry.type}:${hex(entry.data)}`;
    if (entry.type === 'config') this.configEntries.add(key);
    const known = this.entryOf.get(key);
    if (known === undefined) this.entryOf.set(key, data);
    else if (known !== data) throw new SafetyViolation('Log Matching', `two different entries at index ${entry.index} term ${entry.term}`);
  }

  /** State Machine Safety: every node applies the same entry at each index. */
  recordApplied(node: NodeId, entry: Entry): void {
    const data = hex(entry.data);
    const known = this.committed.get(entry.index);
    if (known === undefined) {
      this.committed.set(entry.index, { term: entry.term, data });
      this.committedMax = Math.max(this.committedMax, entry.index);
    } else if (known.term !== entry.term || known.data !== data) {
      throw new SafetyViolation(
        'State Machine Safety',
        `${node} applied index ${entry.index} term ${entry.term}, but term ${known.term} was applied there before`,
      );
    }
  }

  /** A node restarted: its volatile commit and applied may start lower; its term and vote may not. */
  recordRestart(node: NodeId): void {
    const last = this.last.get(node);
    if (last !== undefined) this.last.set(node, { ...last, restarted: true });
    // A leadership whose term never became durable died with the crash: nothing it appended was persisted or sent
    // (messages of a Ready that changes the term wait for it to be durable). A single voter that wins at once can
    // lead the same term again after restarting, with a different log; the per-leadership checks start afresh.
    // Likewise for Election Safety: that leadership cannot coexist with another leader of its term in any way that
    // matters — it left no trace — and the node can vote for another candidate in that term after the restart.
    const durableTerm = this.lastDurableTerm.get(node) ?? 0;
    for (const [term, leader] of [...this.leaderOfTerm]) if (leader === node && term > durableTerm) this.leaderOfTerm.delete(term);
    for (const map of [this.leaderLog, this.leaderMatch, this.leaderConfig]) {
      for (const key of [...map.keys()]) {
        const at = key.lastIndexOf('@');
        if (key.slice(0, at) === node && Number(key.slice(at + 1)) > durableTerm) map.delete(key);
      }
    }
  }

  /**
   * A node's replica was deleted, log and all, after it applied its removal
   * from the configuration (a sharded host dropping a replica that moved
   * away); a replica with the same id may later start again, empty, and
   * be added anew. Its term, vote, commit and applied index start afresh
   * (so do the durable votes it cast: the new replica may vote again in a
   * term the old one voted in, which is why it must have been removed
   * first). Election Safety, the committed entries and every check of the
   * group's other nodes go on as before.
   */
  recordDropped(node: NodeId): void {
    this.last.delete(node);
    this.lastDurableTerm.delete(node);
    this.lastLogs.delete(node);
    for (const key of [...this.votes.keys()]) if (key.slice(0, key.lastIndexOf('@')) === node) this.votes.delete(key);
  }

  /**
   * Checks every invariant against the current state of the live nodes.
   * Passing a node's previous observation object again promises that the
   * node has not changed since: its log's terms are then not read again.
   */
  observe(nodes: readonly NodeObservation[]): void {
    this.steps++;
    // Each log's terms are read once per observation; every check below works on these copies.
    const logs = nodes.map((node) => this.logOf(node));
    this.recordCommitTerms(nodes);
    for (const log of logs) {
      const node = log.node;
      this.checkMonotonic(node);
      this.checkVote(node);
      this.checkCommittedPrefix(log);
      if (node.role === 'leader') this.checkLeader(log);
    }
    this.checkLogMatching(logs);
  }

  /** Notes the term in which indexes above every commit seen so far became committed. */
  private recordCommitTerms(nodes: readonly NodeObservation[]): void {
    if (!nodes.some((node) => node.commitIndex > this.commitSeen)) return;
    for (const node of [...nodes].sort((a, b) => a.term - b.term)) {
      if (node.commitIndex <= this.commitSeen) continue;
      this.commitTerms.push({ from: this.commitSeen + 1, term: node.term });
      this.commitSeen = node.commitIndex;
    }
  }

  /** The term in which `index` was first seen committed, or undefined if it was not seen. */
  private commitTermOf(index: Index): Term | undefined {
    if (index > this.commitSeen) return undefined;
    let low = 0;
    let high = this.commitTerms.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.commitTerms[middle]!.from <= index) low = middle;
      else high = middle - 1;
    }
    return this.commitTerms[low]?.term;
  }

  /** The terms of `node`'s log: those read for the same observation last time, or read now. */
  private logOf(node: NodeObservation): LogTerms {
    const last = this.lastLogs.get(node.id);
    if (last !== undefined && last.node === node) return last;
    const log = readLog(node);
    this.lastLogs.set(node.id, log);
    return log;
  }

  private checkMonotonic(node: NodeObservation): void {
    const fail = (what: string): never => {
      throw new SafetyViolation('Monotonicity', `${node.id}: ${what}`);
    };
    if (!(node.appliedIndex <= node.commitIndex && node.commitIndex <= node.lastIndex)) {
      fail(`expected applied ${node.appliedIndex} ≤ commit ${node.commitIndex} ≤ lastIndex ${node.lastIndex}`);
    }
    const durableBefore = this.lastDurableTerm.get(node.id) ?? 0;
    if (node.durableTerm < durableBefore) fail(`durable term went back from ${durableBefore} to ${node.durableTerm}`);
    this.lastDurableTerm.set(node.id, node.durableTerm);
    // Volatile state may be lost in a crash (it was never promised to anyone); within one run it only moves forward.
    const last = this.last.get(node.id);
    if (last !== undefined) {
      if (!last.restarted && node.term < last.term) fail(`term went back from ${last.term} to ${node.term}`);
      if (!last.restarted && node.term === last.term && last.vote !== null && node.vote !== last.vote) {
        fail(`vote changed from ${last.vote} to ${String(node.vote)} in term ${node.term}`);
      }
      if (!last.restarted && node.commitIndex < last.commit) fail(`commit went back from ${last.commit} to ${node.commitIndex}`);
      if (!last.restarted && node.appliedIndex < last.applied) fail(`applied went back from ${last.applied} to ${node.appliedIndex}`);
    }
    this.last.set(node.id, { term: node.term, vote: node.vote, commit: node.commitIndex, applied: node.appliedIndex, restarted: false });
  }

  /** A durable vote is never changed within its term, also across restarts (redpanda PR #14). */
  private checkVote(node: NodeObservation): void {
    const key = `${node.id}@${node.durableTerm}`;
    const previous = this.votes.get(key);
    if (node.durableVote === null) {
      if (previous !== undefined) throw new SafetyViolation('One vote per term', `${node.id} lost its durable vote for ${previous} in term ${node.durableTerm}`);
      return;
    }
    if (previous === undefined) this.votes.set(key, node.durableVote);
    else if (previous !== node.durableVote) {
      throw new SafetyViolation('One vote per term', `${node.id} durably voted for ${previous} and then ${node.durableVote} in term ${node.durableTerm}`);
    }
  }

  /** A committed entry is never truncated, and each node's committed prefix is the canonical one. */
  private checkCommittedPrefix(log: LogTerms): void {
    const node = log.node;
    const high = Math.min(node.commitIndex, this.committedMax);
    for (let index = Math.max(node.firstIndex, 1); index <= high; index++) {
      const canonical = this.committed.get(index);
      const term = termOf(log, index);
      if (canonical !== undefined && term !== canonical.term) {
        throw new SafetyViolation('Committed entries', `${node.id} has term ${String(term)} at committed index ${index}, expected ${canonical.term}`);
      }
    }
  }

  private checkLeader(log: LogTerms): void {
    const node = log.node;
    const leader = this.leaderOfTerm.get(node.term);
    if (leader === undefined) this.leaderOfTerm.set(node.term, node.id);
    else if (leader !== node.id) throw new SafetyViolation('Election Safety', `${leader} and ${node.id} both leader in term ${node.term}`);
    if (leader === undefined && this.options.checkElectionVotes === true) this.checkElectionQuorum(node);
    this.checkLeaderAppendOnly(log);
    this.checkLeaderCompleteness(log);
    this.checkMatchMonotonic(node);
    this.checkConfigChanges(node);
  }

  /**
   * A new leader was elected by a majority of each half of its configuration
   * (both while joint): counted from the durable votes of its term, which
   * every voter made before answering. A voter whose vote in that term never
   * became durable because a later term superseded it before it was persisted
   * (legitimately: it can no longer vote in that term) may have granted it.
   */
  private checkElectionQuorum(node: NodeObservation): void {
    const votedFor = (id: NodeId): boolean => {
      if (id === node.id) return true;
      const durableVote = this.votes.get(`${id}@${node.term}`);
      return durableVote === node.id || (durableVote === undefined && (this.lastDurableTerm.get(id) ?? 0) > node.term);
    };
    const halves = [node.membership.voters, node.membership.outgoingVoters ?? []];
    for (const half of halves) {
      if (half.length === 0) continue;
      const granted = half.filter(votedFor).length;
      if (granted <= half.length / 2) {
        throw new SafetyViolation(
          'Joint quorum',
          `${node.id} became leader of term ${node.term} with ${granted} of the ${half.length} votes of [${half.join(',')}], not a majority`,
        );
      }
    }
  }

  /**
   * Invariant 9 of the Raft notes, and quorums while joint:
   * - a leader's log holds at most one uncommitted config entry;
   * - a config entry of the leader's term appears only once the leader has
   *   committed an entry of its term (Ongaro 2015);
   * - each config index the core reports names a config entry;
   * - when the leader's commit index advances, a majority of each half of its
   *   configuration holds it, counted naively from the match indexes.
   */
  private checkConfigChanges(node: NodeObservation): void {
    const fail = (what: string): never => {
      throw new SafetyViolation('Configuration changes', `leader ${node.id} of term ${node.term}: ${what}`);
    };
    const pending = node.configIndexes.filter((index) => index > node.commitIndex);
    if (pending.length > 1) fail(`${pending.length} uncommitted config entries at [${pending.join(',')}]`);
    const key = `${node.id}@${node.term}`;
    const state = this.leaderConfig.get(key) ?? { seen: new Set<Index>(), commit: node.commitIndex, membership: node.membership };
    let appendedAboveCommit = false;
    for (const index of node.configIndexes) {
      const term = node.termAt(index);
      const recorded = `${index}/${String(term)}`;
      if (this.entryOf.has(recorded) && !this.configEntries.has(recorded)) fail(`index ${index} is reported as a config entry but is not one`);
      if (term !== node.term || state.seen.has(index)) continue;
      state.seen.add(index);
      if (index > node.commitIndex) appendedAboveCommit = true;
      if (node.termAt(node.commitIndex) !== node.term) fail(`appended the config entry ${index} before committing an entry of its term`);
    }
    if (node.commitIndex > state.commit) {
      // A config entry appended in the same event as the commit advanced (a runtime that proposes the next
      // change as soon as the previous one commits) may have come after the commit: the configuration in force
      // then was the one seen before this event. Either one's quorums justify the commit; neither is a violation.
      const problem = commitQuorumProblem(node, node.membership);
      if (problem !== null && (!appendedAboveCommit || commitQuorumProblem(node, state.membership) !== null)) fail(problem);
    }
    state.commit = node.commitIndex;
    state.membership = node.membership;
    this.leaderConfig.set(key, state);
  }

  private checkLeaderAppendOnly(log: LogTerms): void {
    const node = log.node;
    const key = `${node.id}@${node.term}`;
    const previous = this.leaderLog.get(key);
    if (previous !== undefined) {
      for (let index = Math.max(node.firstIndex, previous.first, 1); index <= previous.last; index++) {
        const before = termOf(previous, index) ?? 0;
        if (termOf(log, index) !== before) {
          throw new SafetyViolation('Leader Append-Only', `${node.id} (term ${node.term}) changed index ${index} from term ${before} to ${String(termOf(log, index))}`);
        }
      }
      if (node.lastIndex < previous.last) {
        throw new SafetyViolation('Leader Append-Only', `${node.id} (term ${node.term}) log shrank from ${previous.last} to ${node.lastIndex}`);
      }
    }
    this.leaderLog.set(key, log);
  }

  /**
   * Leader Completeness (§5.4): an entry committed in a term is in the log of
   * every leader of a later term. A leader of an earlier term may still be
   * acting (it has not heard of the later one): it need not hold entries
   * committed after its term began.
   */
  private checkLeaderCompleteness(log: LogTerms): void {
    const node = log.node;
    for (let index = Math.max(node.firstIndex, 1); index <= this.committedMax; index++) {
      const canonical = this.committed.get(index);
      if (canonical === undefined || canonical.term > node.term) continue;
      const committedIn = this.commitTermOf(index);
      if (committedIn !== undefined && committedIn >= node.term) continue;
      if (termOf(log, index) !== canonical.term) {
        throw new SafetyViolation(
          'Leader Completeness',
          `leader ${node.id} of term ${node.term} has term ${String(termOf(log, index))} at index ${index}, committed in term ${String(committedIn)} with term ${canonical.term}`,
        );
      }
    }
  }

  private checkMatchMonotonic(node: NodeObservation): void {
    const key = `${node.id}@${node.term}`;
    const previous = this.leaderMatch.get(key);
    if (previous !== undefined) {
      for (const [id, match] of node.matchIndex) {
        if (match < (previous.get(id) ?? 0)) {
          throw new SafetyViolation('matchIndex monotonic', `leader ${node.id} term ${node.term}: match of ${id} went back from ${previous.get(id)} to ${match}`);
        }
      }
    }
    this.leaderMatch.set(key, new Map(node.matchIndex));
  }

  /** Log Matching: if two logs hold the same term at an index, they agree on every earlier index. */
  private checkLogMatching(logs: readonly LogTerms[]): void {
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) checkPair(logs[a]!, logs[b]!);
    }
  }
}

/** The terms of one node's log, from its first index to its last, read once per observation. */
interface LogTerms {
  readonly node: NodeObservation;
  /** The first index held; `terms[0]` is its term. */
  readonly first: Index;
  readonly last: Index;
  readonly terms: readonly (Term | undefined)[];
}

function readLog(node: NodeObservation): LogTerms {
  const first = Math.max(node.firstIndex, 1);
  const terms: (Term | undefined)[] = [];
  for (let index = first; index <= node.lastIndex; index++) terms.push(node.termAt(index));
  return { node, first, last: node.lastIndex, terms };
}

/** The term at `index`, or undefined outside the log that was read (compacted, or past its end). */
function termOf(log: LogTerms, index: Index): Term | undefined {
  return index >= log.first && index <= log.last ? log.terms[index - log.first] : undefined;
}

function checkPair(a: LogTerms, b: LogTerms): void {
  const low = Math.max(a.first, b.first);
  let agreed = false;
  for (let index = Math.min(a.last, b.last); index >= low; index--) {
    const termA = termOf(a, index);
    const termB = termOf(b, index);
    if (termA === termB) agreed = true;
    else if (agreed) {
      throw new SafetyViolation('Log Matching', `${a.node.id} and ${b.node.id} agree above index ${index} but differ there (terms ${String(termA)} vs ${String(termB)})`);
    }
  }
}

/** Every byte's two hexadecimal digits. */
const HEX_DIGITS: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** Hexadecimal without `Buffer`: the checker also runs in a browser (the playground). */
function hex(data: Uint8Array): string {
  let text = '';
  for (let i = 0; i < data.length; i++) text += HEX_DIGITS[data[i]!]!;
  return text;
}
