/**
 * The KV service's HTTP server: {@link KvHttpApi} on a `node:http` server,
 * started and stopped as one.
 *
 * @packageDocumentation
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TransportIOError } from '../errors.js';
import { KvHttpApi } from './http-api.js';
import type { KvHttpApiOptions } from './http-api.js';

/** Where to listen. Port 0 picks a free one. */
export interface HttpListenOptions {
  /** The address to bind (loopback unless the API is protected). */
  readonly host: string;
  /** The port to bind; 0 picks a free one. */
  readonly port: number;
}

/** A running HTTP server for one node's KV API. */
export class KvHttpServer {
  private closing: Promise<void> | null = null;

  private constructor(
    /** The request handler the server runs. */
    readonly api: KvHttpApi,
    private readonly server: Server,
  ) {}

  /**
   * Starts serving `options` on `listen`; resolves once the server is
   * listening. Rejects with {@link TransportIOError} when it cannot listen
   * (address in use, no permission), its `cause` the system error.
   */
  static async start(options: KvHttpApiOptions, listen: HttpListenOptions): Promise<KvHttpServer> {
    const api = new KvHttpApi(options);
    const server = createServer(api.handle);
    // A slow or stalled client must not hold a socket for ever.
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      const refused = (error: Error): void => reject(new TransportIOError(`cannot listen on ${listen.host}:${listen.port}: ${error.message}`, { cause: error }));
      server.once('error', refused);
      server.listen(listen.port, listen.host, () => {
        server.off('error', refused);
        resolve();
      });
    });
    return new KvHttpServer(api, server);
  }

  /** The address the server listens on. */
  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** The base URL, e.g. `http://127.0.0.1:8001`. */
  get url(): string {
    const { address, port, family } = this.address;
    return `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
  }

  /** Stops accepting connections and closes idle ones; resolves when every connection is gone. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
    return this.closing;
  }
}
