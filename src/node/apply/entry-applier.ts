import type { RawNode } from '../../core/raw-node.js';
import type { Entry } from '../../core/types.js';
import { NodeFailedError } from '../../errors.js';
import type { KnownMembers } from '../membership/known-members.js';
import { decodePayload, PAYLOAD_COMMAND } from './payload.js';
import type { SessionTable } from './sessions.js';
import type { SessionRequest } from './session.js';
import type { StateMachine } from '../state-machine.js';
import type { ApplyOutcome } from '../requests/waiters.js';

/** What {@link EntryApplier} applies entries to: plain state, no callbacks. */
export interface ApplyTargets<Result> {
  /** Read-only: the configuration at a config entry's index. */
  readonly core: Pick<RawNode, 'membershipAt'>;
  readonly sessions: SessionTable;
  readonly stateMachine: StateMachine<Result>;
  readonly members: Pick<KnownMembers, 'configurationApplied' | 'applyAddress'>;
}

/** The outcome of applying one entry; a promise only when the state machine's `apply` returned one. */
export type Applied<Result> = ApplyOutcome<Result> | Promise<ApplyOutcome<Result>>;

const NOTHING: ApplyOutcome<never> = { ok: true, result: undefined as never };

/**
 * The apply path: hands each committed entry to whoever owns it — the
 * configuration and member addresses to the runtime, a command to the user's
 * state machine, through the exactly-once session table (Raft dissertation §6.3).
 * Session registrations and closes are the table's alone; a session command is
 * checked against the table first and applied only if it is new.
 */
export class EntryApplier<Result> {
  constructor(private readonly host: ApplyTargets<Result>) {}

  /** Applies one committed entry and returns its outcome for the proposer; a promise only when the state machine's `apply` returned one. */
  apply(entry: Entry): Applied<Result> {
    // A configuration entry is the core's business (it took effect when appended), not the state machine's.
    if (entry.type === 'config') {
      this.host.members.configurationApplied(this.host.core.membershipAt(entry.index));
      return NOTHING;
    }
    // The common case, a command without a session, skips the decoded payload object.
    if (entry.data[0] === PAYLOAD_COMMAND) return this.applyCommand(entry, null, entry.data.subarray(1));
    const payload = decodePayload(entry.index, entry.data);
    if (payload.kind === 'noop') return NOTHING;
    if (payload.kind === 'memberAddress') {
      this.host.members.applyAddress(payload.id, payload.address);
      return NOTHING;
    }
    if (payload.kind === 'openSession') return { ok: true, result: this.host.sessions.register(entry.index) as Result };
    if (payload.kind === 'closeSession') {
      this.host.sessions.close(payload.id);
      return NOTHING;
    }
    const session = payload.session;
    const decision = session === null ? null : this.host.sessions.check(session, payload.command);
    if (decision?.kind === 'duplicate') return decision.outcome as ApplyOutcome<Result>;
    if (decision?.kind === 'refuse') return { ok: false, error: decision.error };
    return this.applyCommand(entry, session, payload.command);
  }

  /** Hands a command to the state machine; a promise only when its `apply` returned one. */
  private applyCommand(entry: Entry, session: SessionRequest | null, command: Uint8Array): Applied<Result> {
    let result: Result | Promise<Result>;
    try {
      result = this.host.stateMachine.apply({ index: entry.index, term: entry.term, command });
    } catch (error) {
      return applyFailed(entry, error);
    }
    // A synchronous state machine is the common case: no promise and no closure per entry.
    if (!(result instanceof Promise)) return this.complete(entry, session, command, result);
    return result.then(
      (value) => this.complete(entry, session, command, value),
      (error: unknown) => applyFailed(entry, error),
    );
  }

  /**
   * Hands the state machine's result over. A result without a session is
   * handed over and forgotten, so it need not encode; one with a session is
   * encoded now, on every node alike, since the table keeps it for retries
   * and snapshots.
   */
  private complete(entry: Entry, session: SessionRequest | null, command: Uint8Array, result: Result): ApplyOutcome<Result> {
    if (session === null) return { ok: true, result };
    return this.host.sessions.record(session, command, entry.index, result) as ApplyOutcome<Result>;
  }
}

/** A state machine that cannot apply a committed entry would diverge from its peers: the node stops instead. */
function applyFailed(entry: Entry, error: unknown): never {
  throw new NodeFailedError(`state machine failed to apply entry ${entry.index}`, { cause: error });
}
