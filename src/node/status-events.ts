import type { Index, NodeId, Role, Term } from '../core/types.js';
import type { NodeEvents, TypedEmitter } from './events.js';

/** The fields whose changes become events, as last emitted. */
export interface SeenStatus {
  role: Role;
  leader: NodeId | null;
  term: Term;
  commit: Index;
}

/** What {@link StatusEvents} needs from its node. */
export interface StatusEventsHost {
  /** The node, which emits the events to its listeners. */
  readonly events: Pick<TypedEmitter<NodeEvents>, 'emit'>;
  /** This node stopped being leader; called before the `role` event, so listeners see its effects. */
  leftLeadership(): void;
}

/**
 * Turns changes of role, leader, term and commit index into the node's
 * `term`, `role`, `leader` and `commit` events, in that order, each once per
 * change.
 */
export class StatusEvents {
  private readonly lastSeen: SeenStatus;

  constructor(
    private readonly host: StatusEventsHost,
    initial: SeenStatus,
  ) {
    this.lastSeen = { ...initial };
  }

  /**
   * Emits what changed since the last call. Every field is recorded before
   * any listener runs: a listener may re-enter.
   */
  emitChanges(role: Role, leader: NodeId | null, term: Term, commit: Index): void {
    const seen = this.lastSeen;
    if (role === seen.role && leader === seen.leader && term === seen.term && commit === seen.commit) return;
    const before = { ...seen };
    seen.role = role;
    seen.leader = leader;
    seen.term = term;
    seen.commit = commit;
    const events = this.host.events;
    if (term !== before.term) events.emit('term', term);
    if (role !== before.role) {
      if (before.role === 'leader') this.host.leftLeadership();
      events.emit('role', role);
    }
    if (leader !== before.leader) events.emit('leader', leader);
    if (commit !== before.commit) events.emit('commit', commit);
  }
}
