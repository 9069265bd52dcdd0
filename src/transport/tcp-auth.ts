/**
 * Peer authentication for the TCP transport.
 *
 * - HMAC challenge–response: each side sends a fresh random nonce; each
 *   proves it holds the cluster's shared secret by returning an HMAC-SHA256
 *   over both nonces, both node ids, the cluster id and its role. The secret
 *   never crosses the wire, a proof cannot be replayed (the other side's nonce
 *   is fresh) and cannot be reflected back (the role is part of it).
 * - Mutual TLS: the node's certificate must name its node id, as a DNS
 *   subject alternative name or, without SANs, as the subject common name.
 *
 * @packageDocumentation
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { NodeId } from '../core/types.js';

/** Bytes of each side's handshake nonce. */
export const NONCE_BYTES = 32;

/** Which side of the handshake a proof speaks for. */
export type ProofRole = 'client' | 'server';

/** Everything both sides know once hello and welcome were exchanged: what a proof binds. */
export interface HandshakeTranscript {
  readonly protocol: number;
  readonly clusterId: string;
  readonly clientId: NodeId;
  readonly serverId: NodeId;
  readonly clientNonce: Uint8Array;
  readonly serverNonce: Uint8Array;
}

/** A fresh random nonce. */
export function newNonce(): Uint8Array {
  return randomBytes(NONCE_BYTES);
}

/** The HMAC-SHA256 proof `role` sends for `transcript` under `secret`. */
export function handshakeProof(secret: Uint8Array, role: ProofRole, transcript: HandshakeTranscript): Uint8Array {
  const hmac = createHmac('sha256', secret);
  // Each field is length-prefixed, so no two different transcripts hash the same bytes.
  for (const part of [`keel-tcp-${role}`, String(transcript.protocol), transcript.clusterId, transcript.clientId, transcript.serverId]) {
    updateField(hmac, Buffer.from(part, 'utf8'));
  }
  updateField(hmac, transcript.clientNonce);
  updateField(hmac, transcript.serverNonce);
  return hmac.digest();
}

/** True when `proof` is what `role` must send; compared in constant time. */
export function verifyProof(secret: Uint8Array, role: ProofRole, transcript: HandshakeTranscript, proof: Uint8Array): boolean {
  const expected = handshakeProof(secret, role, transcript);
  return proof.byteLength === expected.byteLength && timingSafeEqual(proof, expected);
}

function updateField(hmac: ReturnType<typeof createHmac>, bytes: Uint8Array): void {
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(bytes.byteLength, 0);
  hmac.update(length);
  hmac.update(bytes);
}

/**
 * The node ids a peer certificate names: its DNS subject alternative names,
 * or its subject common name when it has no DNS SAN (as TLS hostname checks do).
 */
export function certificateNodeIds(certificate: PeerCertificate | null | undefined): string[] {
  if (certificate === null || certificate === undefined || Object.keys(certificate).length === 0) return [];
  const dnsNames = (certificate.subjectaltname ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.startsWith('DNS:'))
    .map((name) => name.slice('DNS:'.length));
  if (dnsNames.length > 0) return dnsNames;
  const commonName = certificate.subject?.CN;
  if (typeof commonName === 'string') return [commonName];
  return Array.isArray(commonName) ? commonName.filter((name): name is string => typeof name === 'string') : [];
}
