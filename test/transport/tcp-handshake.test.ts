import { describe, expect, test } from 'vitest';
import { InvalidConfigError } from '../../src/errors.js';
import { certificateNodeIds, handshakeProof, newNonce } from '../../src/transport/tcp-auth.js';
import { ClientHandshake, PROTOCOL_VERSION, ServerHandshake } from '../../src/transport/tcp-handshake.js';
import { resolveTcpOptions } from '../../src/transport/tcp-options.js';
import { SendQueue } from '../../src/transport/tcp-send-queue.js';

const SECRET = new Uint8Array(32).fill(1);
const settings = (self: string, secret: Uint8Array | null = SECRET): { self: string; clusterId: string; secret: Uint8Array | null; nonce: Uint8Array } => ({ self, clusterId: 'c1', secret, nonce: newNonce() });
const server = (certificateNames: ((id: string) => boolean) | null = null): ServerHandshake => new ServerHandshake(settings('a'), (id) => id === 'b' || id === 'c', certificateNames);

describe('handshake', () => {
  test('a hello of another protocol version is refused with reason protocol', () => {
    const hello = { ...(new ClientHandshake(settings('b'), 'a').hello() as object), protocol: PROTOCOL_VERSION + 1 };
    expect(server().receive(hello)).toMatchObject({ kind: 'refused', reason: 'protocol', send: { t: 'refuse', reason: 'protocol' } });
  });

  test('a hello addressed to another node is refused with reason wrong-node', () => {
    expect(server().receive(new ClientHandshake(settings('b'), 'z').hello())).toMatchObject({ kind: 'refused', reason: 'wrong-node' });
  });

  test('a client proof made with another secret is refused by the server with reason auth', () => {
    const s = server();
    const clientSettings = settings('b');
    const hello = new ClientHandshake(clientSettings, 'a').hello() as { nonce: Uint8Array };
    const welcome = s.receive(hello);
    expect(welcome.kind).toBe('reply');
    const serverNonce = (welcome.send as { nonce: Uint8Array }).nonce;
    // A client that skipped checking the server and proves with the wrong secret.
    const proof = handshakeProof(new Uint8Array(32).fill(2), 'client', { protocol: PROTOCOL_VERSION, clusterId: 'c1', clientId: 'b', serverId: 'a', clientNonce: hello.nonce, serverNonce });
    expect(s.receive({ t: 'proof', proof })).toMatchObject({ kind: 'refused', reason: 'auth' });
  });

  test('the server’s own proof, sent back as the client’s, is refused: the role is part of the proof', () => {
    const s = server();
    const hello = new ClientHandshake(settings('b'), 'a').hello();
    const welcome = s.receive(hello);
    expect(s.receive({ t: 'proof', proof: (welcome.send as { proof: Uint8Array }).proof })).toMatchObject({ kind: 'refused', reason: 'auth' });
  });

  test('under TLS, a hello claiming a node the certificate does not name is refused with reason tls-identity', () => {
    const s = server((id) => id === 'c');
    expect(s.receive(new ClientHandshake(settings('b'), 'a').hello())).toMatchObject({ kind: 'refused', reason: 'tls-identity' });
  });

  test('a message after the handshake ended is refused as malformed', () => {
    const s = server();
    const client = new ClientHandshake(settings('b'), 'a');
    const accept = s.receive(client.receive(s.receive(client.hello()).send).send);
    expect(accept.kind).toBe('accepted');
    expect(s.receive({ t: 'proof', proof: null })).toMatchObject({ kind: 'refused', reason: 'malformed' });
  });
});

describe('certificate identity', () => {
  test('DNS subject alternative names name the node; the CN counts only without them', () => {
    expect(certificateNodeIds({ subject: { CN: 'x' }, subjectaltname: 'DNS:a, IP Address:127.0.0.1, DNS:a.internal' } as never)).toEqual(['a', 'a.internal']);
    expect(certificateNodeIds({ subject: { CN: 'b' } } as never)).toEqual(['b']);
    expect(certificateNodeIds({} as never)).toEqual([]);
    expect(certificateNodeIds(null)).toEqual([]);
  });
});

describe('send queue', () => {
  test('counts the socket’s buffered bytes against its bound and refuses what does not fit', () => {
    const queue = new SendQueue(100);
    expect(queue.offer(Buffer.alloc(60), 0)).toBe(true);
    expect(queue.offer(Buffer.alloc(30), 20)).toBe(false); // 60 + 20 + 30 > 100
    expect(queue.offer(Buffer.alloc(30), 0)).toBe(true);
    expect(queue.bytes).toBe(90);
    expect(queue.takeAll().map((frame) => frame.byteLength)).toEqual([60, 30]);
    expect(queue.bytes).toBe(0);
  });
});

describe('TcpTransport options', () => {
  const base = { nodeId: 'a', clusterId: 'c1', listen: { host: '127.0.0.1', port: 0 }, peers: { b: { host: '127.0.0.1', port: 7001 } }, insecure: true };

  test.each([
    ['maxQueueBytes', { maxFrameBytes: 1024, maxQueueBytes: 512 }],
    ['peers', { peers: { a: { host: '127.0.0.1', port: 7000 } } }],
    ['peers.b', { peers: { b: { host: '127.0.0.1', port: 70_000 } } }],
    ['listen', { listen: { host: '', port: 0 } }],
    ['clusterId', { clusterId: '' }],
    ['tls', { tls: { ca: '', cert: 'x', key: 'y' } }],
    ['backoff.maxMs', { backoff: { initialMs: 100, maxMs: 10 } }],
    ['maxFrameBytes', { maxFrameBytes: 0 }],
  ] as const)('%s is rejected with InvalidConfigError naming it', (field, override) => {
    let error: unknown;
    try {
      resolveTcpOptions({ ...base, ...override });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).field).toBe(field);
  });

  test('defaults are filled in', () => {
    const resolved = resolveTcpOptions(base);
    expect(resolved.maxFrameBytes).toBe(16 * 1024 * 1024);
    expect(resolved.maxQueueBytes).toBe(32 * 1024 * 1024);
    expect([...resolved.peers.keys()]).toEqual(['b']);
    expect(resolved.secret).toBeNull();
  });
});
