import { randomBytes } from 'node:crypto';
import { SystemClock } from '../../src/node/clock.js';
import { LocalNetwork } from '../../src/transport/local-network.js';
import { createTransports } from './tcp-cluster.js';
import { transportConformance } from './conformance.js';

const IDS = ['a', 'b', 'c'];

transportConformance('LocalNetwork', async () => {
  const network = new LocalNetwork(new SystemClock());
  const transports = new Map(IDS.map((id) => [id, network.transport(id)]));
  return { transports, close: async () => Promise.all([...transports.values()].map((t) => t.close())).then(() => undefined) };
});

transportConformance('TcpTransport (HMAC)', async () => {
  const secret = randomBytes(32);
  const transports = await createTransports(IDS, () => ({ secret, logger: () => undefined }));
  return { transports, close: async () => Promise.all([...transports.values()].map((t) => t.close())).then(() => undefined) };
});
