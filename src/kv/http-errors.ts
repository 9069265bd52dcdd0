/**
 * How the KV HTTP API answers Keel's typed errors: the status code and the
 * stable `error` field of each (docs/kv.md lists them).
 *
 * @packageDocumentation
 */
import type { KeelError } from '../errors.js';

/** A status and JSON body to answer. */
export interface ErrorReply {
  readonly status: number;
  readonly body: { readonly error: string; readonly message: string; readonly leader?: string | null };
}

/** The answer to a request that failed with `error`; null for a code the API does not expect (a 500). */
export function replyForKeelError(error: KeelError): ErrorReply | null {
  switch (error.code) {
    case 'KEEL_NOT_LEADER':
      return { status: 503, body: { error: 'unavailable', message: error.message, leader: (error as KeelError & { leader: string | null }).leader } };
    case 'KEEL_CONF_CHANGE_IN_PROGRESS':
      return { status: 409, body: { error: 'change_in_progress', message: error.message } };
    case 'KEEL_UNKNOWN_MEMBER':
      return { status: 404, body: { error: 'unknown_member', message: error.message } };
    case 'KEEL_INVALID_CONF_CHANGE':
    case 'KEEL_INVALID_ARGUMENT':
      return { status: 400, body: { error: 'invalid_change', message: error.message } };
    case 'KEEL_TIMEOUT':
    case 'KEEL_ABORTED':
    case 'KEEL_LEADER_NOT_READY':
    case 'KEEL_PROPOSAL_LOST':
    case 'KEEL_PROPOSAL_DROPPED':
    case 'KEEL_NODE_CLOSED':
    case 'KEEL_NODE_FAILED':
      return { status: 503, body: { error: 'unavailable', message: error.message } };
    case 'KEEL_PROPOSAL_TOO_LARGE':
      return { status: 413, body: { error: 'too_large', message: error.message } };
    case 'KEEL_SESSION_EXPIRED':
      return { status: 410, body: { error: 'session_expired', message: `${error.message}. Whether an earlier attempt was applied is unknown: read the key, and open a new session with POST /sessions` } };
    case 'KEEL_SESSION_STALE':
      return { status: 409, body: { error: 'idempotency_key_stale', message: `${error.message}; the session's later request replaced its remembered result` } };
    case 'KEEL_SESSION_CONFLICT':
      return { status: 422, body: { error: 'idempotency_key_reused', message: error.message } };
    default:
      return null;
  }
}
