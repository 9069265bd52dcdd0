import { randomBytes } from 'node:crypto';
import { SystemClock } from '../../src/util/clock.js';
import { LocalNetwork } from '../../src/transport/local-network.js';
import { TcpTransport } from '../../src/transport/tcp.js';
import { createTransports, LOOPBACK } from './tcp-cluster.js';
import { transportConformance } from './conformance.js';

const IDS = ['a', 'b', 'c'];

transportConformance('LocalNetwork', async () => {
  const network = new LocalNetwork(new SystemClock());
  const transports = new Map(IDS.map((id) => [id, network.transport(id)]));
  const newcomer = async (id: string) => ({ transport: network.transport(id), address: `local:${id}` });
  return { transports, newcomer, close: async () => Promise.all([...transports.values()].map((t) => t.close())).then(() => undefined) };
});

transportConformance('TcpTransport (HMAC)', async () => {
  const secret = randomBytes(32);
  const transports = await createTransports(IDS, () => ({ secret, logger: () => undefined }));
  const newcomer = async (id: string) => {
    const peers = Object.fromEntries([...transports].map(([other, transport]) => [other, transport.address()!]));
    const transport = new TcpTransport({ clusterId: 'test-cluster', nodeId: id, listen: { host: LOOPBACK, port: 0 }, peers, secret, logger: () => undefined });
    const { host, port } = await transport.listen();
    return { transport, address: `${host}:${port}` };
  };
  return { transports, newcomer, close: async () => Promise.all([...transports.values()].map((t) => t.close())).then(() => undefined) };
});
