/**
 * What the page shows of each node, read from the world between two events:
 * the running `RaftNode`'s core (role, term, vote, election timer, log,
 * commit and apply indexes, snapshot index) or, for a node that is down,
 * what its disk holds durably.
 */
import type { NodeId, Role } from '../../src/core/types.js';
import type { SimNode } from '../../sim/world/sim-node.js';
import type { World } from '../../sim/world/world.js';
import { playgroundValue } from './user-actions.js';

/** The most log entries the page draws per node (the newest ones). */
export const LOG_ENTRIES_SHOWN = 24;

/** One node as the page draws it. */
export interface NodeView {
  readonly id: NodeId;
  /** `down`: crashed (or stopped); `paused`: running with its clock stopped. */
  readonly state: 'up' | 'paused' | 'down';
  readonly role: Role | 'down';
  readonly term: number;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly electionElapsedTicks: number;
  readonly electionTimeoutTicks: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  /** The index the log was compacted to (0: never); entries up to it live in the snapshot. */
  readonly snapshotIndex: number;
  /** The newest entries: index and term. */
  readonly entries: readonly { readonly index: number; readonly term: number }[];
  /** Whether this node is a voter of its configuration in force. */
  readonly voter: boolean;
  /** The value of the playground's key in this node's state machine. */
  readonly value: string | null;
}

/** Every node of the world, founders first. */
export function nodeViews(world: World): NodeView[] {
  return world.nodes.map(nodeView);
}

function nodeView(node: SimNode): NodeView {
  const raft = node.state === 'up' ? node.node : null;
  if (raft === null) return downView(node);
  const core = raft.coreReader();
  const status = raft.status();
  const first = core.firstIndex();
  const last = core.lastIndex();
  const entries: { index: number; term: number }[] = [];
  for (let index = Math.max(first, last - LOG_ENTRIES_SHOWN + 1); index <= last; index++) entries.push({ index, term: core.term(index) ?? 0 });
  return {
    id: node.id,
    state: node.paused ? 'paused' : 'up',
    role: core.role,
    term: core.currentTerm,
    vote: core.vote,
    leader: core.leader,
    electionElapsedTicks: core.electionTimer.elapsedTicks,
    electionTimeoutTicks: core.electionTimer.timeoutTicks,
    commitIndex: core.commitIndex,
    appliedIndex: status.appliedIndex,
    lastIndex: last,
    snapshotIndex: first - 1,
    entries,
    voter: status.members.includes(node.id),
    value: playgroundValue(node.machine),
  };
}

function downView(node: SimNode): NodeView {
  const hardState = node.disk.durableHardState();
  return {
    id: node.id,
    state: 'down',
    role: 'down',
    term: hardState.term,
    vote: hardState.vote,
    leader: null,
    electionElapsedTicks: 0,
    electionTimeoutTicks: 0,
    commitIndex: hardState.commit,
    appliedIndex: 0,
    lastIndex: node.disk.durableLastIndex(),
    snapshotIndex: 0,
    entries: [],
    voter: false,
    value: null,
  };
}

/** A one-line digest of every node's state, for tests that compare two moments of a run. */
export function stateDigest(world: World): string {
  const nodes = nodeViews(world).map((view) => `${view.id}:${view.role}:t${view.term}:v${view.vote ?? '-'}:c${view.commitIndex}:a${view.appliedIndex}:l${view.lastIndex}:s${view.snapshotIndex}`);
  return `${world.now().toFixed(3)}ms ${world.events}ev ${nodes.join(' ')}`;
}
