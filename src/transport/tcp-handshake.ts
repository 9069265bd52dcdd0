/**
 * The TCP transport's handshake, as two pure state machines: the dialling
 * side ({@link ClientHandshake}) and the accepting side ({@link ServerHandshake}).
 * They take decoded frame bodies and return what to send and whether the
 * connection is accepted or refused; the sockets live elsewhere, so the
 * handshake can be fuzzed without a network.
 *
 * ```
 * client                                   server
 *   hello {protocol, cluster, from, to, nonce} →
 *                         ← welcome {protocol, cluster, from, nonce, proof}   (or refuse)
 *   proof {proof}                          →
 *                         ← accept                                            (or refuse)
 * ```
 *
 * `proof` is an HMAC over the transcript when a shared secret is configured,
 * null otherwise. Under mutual TLS the server also checks that the client's
 * certificate names the node id the hello claims (the client checks the
 * server's certificate while connecting). Until `accept`, no frame is taken
 * for a message: an unauthenticated connection cannot deliver one.
 *
 * @packageDocumentation
 */
import type { NodeId } from '../core/types.js';
import type { HandshakeRefusal } from '../errors.js';
import { handshakeProof, NONCE_BYTES, verifyProof, type HandshakeTranscript } from './tcp-auth.js';

/** The handshake protocol version this build speaks. */
export const PROTOCOL_VERSION = 1;

/** What a handshake step asks of the connection. */
export type HandshakeStep =
  | { readonly kind: 'reply'; readonly send: unknown }
  | { readonly kind: 'accepted'; readonly peer: NodeId; readonly send: unknown | null }
  | { readonly kind: 'refused'; readonly reason: HandshakeRefusal; readonly message: string; readonly send: unknown | null };

/** What both sides of a handshake are configured with. */
export interface HandshakeSettings {
  readonly self: NodeId;
  readonly clusterId: string;
  /** The shared secret of HMAC mode, or null. */
  readonly secret: Uint8Array | null;
  /** This side's fresh nonce. */
  readonly nonce: Uint8Array;
}

type Fields = Readonly<Record<string, unknown>>;

/** The accepting side: checks the hello, proves itself, checks the client's proof. */
export class ServerHandshake {
  private state: 'hello' | 'proof' | 'done' = 'hello';
  private transcript: HandshakeTranscript | null = null;

  constructor(
    private readonly settings: HandshakeSettings,
    /** True for every configured peer's node id. */
    private readonly isPeer: (id: NodeId) => boolean,
    /** Under mutual TLS: whether the connection's certificate names `id`. Null without TLS. */
    private readonly certificateNames: ((id: NodeId) => boolean) | null,
  ) {}

  receive(value: unknown): HandshakeStep {
    const refusal = shape(value, 'refuse');
    if (refusal !== null && this.state !== 'done') {
      this.state = 'done';
      return { kind: 'refused', reason: 'refused-by-peer', message: `the client gave up: ${describeRefusal(refusal)}`, send: null };
    }
    if (this.state === 'hello') return this.receiveHello(value);
    if (this.state === 'proof') return this.receiveProof(value);
    return refuse('malformed', 'a handshake message after the handshake ended');
  }

  private receiveHello(value: unknown): HandshakeStep {
    const hello = shape(value, 'hello');
    if (hello === null) return this.refuse('malformed', `expected hello, got ${describeMessage(value)}`);
    const { protocol, cluster, from, to, nonce } = hello;
    if (typeof protocol !== 'number' || typeof cluster !== 'string' || !isId(from) || !isId(to) || !isNonce(nonce)) {
      return this.refuse('malformed', 'hello with fields of the wrong type');
    }
    if (protocol !== PROTOCOL_VERSION) return this.refuse('protocol', `protocol version ${protocol}, this node speaks ${PROTOCOL_VERSION}`);
    if (cluster !== this.settings.clusterId) return this.refuse('cluster', `cluster id ${quote(cluster)}, this node is in ${quote(this.settings.clusterId)}`);
    if (to !== this.settings.self) return this.refuse('wrong-node', `dialled ${quote(to)}, this node is ${quote(this.settings.self)}`);
    if (from === this.settings.self || !this.isPeer(from)) return this.refuse('unknown-node', `node ${quote(from)} is not a peer of this node`);
    if (this.certificateNames !== null && !this.certificateNames(from)) {
      return this.refuse('tls-identity', `the client certificate does not name node ${quote(from)}`);
    }
    this.transcript = { protocol, clusterId: cluster, clientId: from, serverId: this.settings.self, clientNonce: nonce, serverNonce: this.settings.nonce };
    this.state = 'proof';
    const proof = this.settings.secret === null ? null : handshakeProof(this.settings.secret, 'server', this.transcript);
    return { kind: 'reply', send: { t: 'welcome', protocol: PROTOCOL_VERSION, cluster: this.settings.clusterId, from: this.settings.self, nonce: this.settings.nonce, proof } };
  }

  private receiveProof(value: unknown): HandshakeStep {
    const message = shape(value, 'proof');
    const transcript = this.transcript;
    if (message === null || transcript === null) return this.refuse('malformed', `expected proof, got ${describeMessage(value)}`);
    const proof = message['proof'];
    if (this.settings.secret !== null) {
      if (!(proof instanceof Uint8Array)) return this.refuse('auth', 'this node requires an HMAC proof and the client sent none');
      if (!verifyProof(this.settings.secret, 'client', transcript, proof)) return this.refuse('auth', 'wrong HMAC proof: the client does not hold the cluster secret');
    } else if (proof !== null) {
      return this.refuse('auth', 'the client sent an HMAC proof but this node has no shared secret configured');
    }
    this.state = 'done';
    return { kind: 'accepted', peer: transcript.clientId, send: { t: 'accept' } };
  }

  private refuse(reason: HandshakeRefusal, message: string): HandshakeStep {
    this.state = 'done';
    return refuse(reason, message);
  }
}

/** The dialling side: says who it is and whom it wants, checks the server's proof, proves itself. */
export class ClientHandshake {
  private state: 'welcome' | 'accept' | 'done' = 'welcome';

  constructor(
    private readonly settings: HandshakeSettings,
    /** The peer this connection dials. */
    private readonly peer: NodeId,
  ) {}

  /** The first message: hello. */
  hello(): unknown {
    return { t: 'hello', protocol: PROTOCOL_VERSION, cluster: this.settings.clusterId, from: this.settings.self, to: this.peer, nonce: this.settings.nonce };
  }

  receive(value: unknown): HandshakeStep {
    const refusal = shape(value, 'refuse');
    if (refusal !== null) {
      this.state = 'done';
      return { kind: 'refused', reason: 'refused-by-peer', message: `${this.peer} refused the connection: ${describeRefusal(refusal)}`, send: null };
    }
    if (this.state === 'welcome') return this.receiveWelcome(value);
    if (this.state === 'accept' && shape(value, 'accept') !== null) {
      this.state = 'done';
      return { kind: 'accepted', peer: this.peer, send: null };
    }
    return this.refuse('malformed', `unexpected ${describeMessage(value)} in state ${this.state}`);
  }

  private receiveWelcome(value: unknown): HandshakeStep {
    const welcome = shape(value, 'welcome');
    if (welcome === null) return this.refuse('malformed', `expected welcome, got ${describeMessage(value)}`);
    const { protocol, cluster, from, nonce, proof } = welcome;
    if (typeof protocol !== 'number' || typeof cluster !== 'string' || !isId(from) || !isNonce(nonce)) {
      return this.refuse('malformed', 'welcome with fields of the wrong type');
    }
    if (protocol !== PROTOCOL_VERSION) return this.refuse('protocol', `${this.peer} speaks protocol ${protocol}, this node ${PROTOCOL_VERSION}`);
    if (cluster !== this.settings.clusterId) return this.refuse('cluster', `${this.peer} is in cluster ${quote(cluster)}, not ${quote(this.settings.clusterId)}`);
    if (from !== this.peer) return this.refuse('wrong-node', `dialled ${this.peer} but ${quote(from)} answered`);
    const transcript: HandshakeTranscript = { protocol, clusterId: cluster, clientId: this.settings.self, serverId: this.peer, clientNonce: this.settings.nonce, serverNonce: nonce };
    const secret = this.settings.secret;
    if (secret !== null) {
      if (!(proof instanceof Uint8Array)) return this.refuse('auth', `${this.peer} sent no HMAC proof but this node requires one`);
      if (!verifyProof(secret, 'server', transcript, proof)) return this.refuse('auth', `wrong HMAC proof: ${this.peer} does not hold the cluster secret`);
    } else if (proof !== null) {
      return this.refuse('auth', `${this.peer} sent an HMAC proof but this node has no shared secret configured`);
    }
    this.state = 'accept';
    return { kind: 'reply', send: { t: 'proof', proof: secret === null ? null : handshakeProof(secret, 'client', transcript) } };
  }

  private refuse(reason: HandshakeRefusal, message: string): HandshakeStep {
    this.state = 'done';
    return refuse(reason, message);
  }
}

/** A refusal, with the `refuse` message that tells the other side why. */
function refuse(reason: HandshakeRefusal, message: string): HandshakeStep {
  return { kind: 'refused', reason, message, send: { t: 'refuse', reason, message } };
}

/** The fields of `value` when it is a handshake message of type `type`, else null. */
function shape(value: unknown, type: string): Fields | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) return null;
  const fields = value as Fields;
  return fields['t'] === type ? fields : null;
}

/** The other side's reason, as it sent it (trimmed: it is untrusted input headed for a log). */
function describeRefusal(refusal: Fields): string {
  const reason = typeof refusal['reason'] === 'string' ? refusal['reason'].slice(0, 40) : '?';
  const text = typeof refusal['message'] === 'string' ? refusal['message'].slice(0, 200) : '';
  return `(${reason}) ${text}`;
}

function describeMessage(value: unknown): string {
  if (typeof value === 'object' && value !== null && typeof (value as Fields)['t'] === 'string') return JSON.stringify(((value as Fields)['t'] as string).slice(0, 20));
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** A peer-supplied string for a log line: quoted, and cut short. */
function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isNonce(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.byteLength === NONCE_BYTES;
}
