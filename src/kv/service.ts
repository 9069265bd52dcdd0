/**
 * The KV service's HTTP server: {@link KvHttpApi} on a `node:http` server,
 * or `node:https` when given a certificate and key, started and stopped as one.
 *
 * @packageDocumentation
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TransportIOError } from '../errors.js';
import { KvHttpApi } from './http-api.js';
import type { KvHttpApiOptions } from './http-api.js';

/** Where to listen. Port 0 picks a free one. */
export interface HttpListenOptions {
  /** The address to bind, e.g. `127.0.0.1`. */
  readonly host: string;
  /** The TCP port; 0 picks a free one. */
  readonly port: number;
  /** Serve HTTPS with this certificate chain and private key (PEM). Absent: plain HTTP. */
  readonly tls?: HttpTlsOptions;
}

/** The server's certificate and key for HTTPS. */
export interface HttpTlsOptions {
  /** The certificate chain, PEM. */
  readonly cert: string | Buffer;
  /** The private key, PEM. */
  readonly key: string | Buffer;
}

/** A running HTTP server for one node's KV API. */
export class KvHttpServer {
  private closing: Promise<void> | null = null;

  private constructor(
    /** The API this server serves. */
    readonly api: KvHttpApi,
    private readonly server: Server,
    private readonly secure: boolean,
  ) {}

  /**
   * Starts serving `options` on `listen`; resolves once the server is
   * listening. Rejects with {@link TransportIOError} when it cannot listen
   * (address in use, no permission), its `cause` the system error. A bad
   * certificate or key throws from `node:tls` (rejects) before listening.
   */
  static async start(options: KvHttpApiOptions, listen: HttpListenOptions): Promise<KvHttpServer> {
    const api = new KvHttpApi(options);
    const tls = listen.tls;
    const server: Server = tls === undefined ? createServer(api.handle) : createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, api.handle);
    await listenHttp(server, listen);
    return new KvHttpServer(api, server, tls !== undefined);
  }

  /** The address the server listens on. */
  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** The base URL, e.g. `http://127.0.0.1:8001` or `https://127.0.0.1:8001`. */
  get url(): string {
    const { address, port, family } = this.address;
    return `${this.secure ? 'https' : 'http'}://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
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

/**
 * Bounds a server's header and request times (a slow or stalled client must
 * not hold a socket for ever) and listens on `listen`; rejects with
 * {@link TransportIOError} when the address cannot be bound. Shared by the
 * KV server and the sharded front.
 */
export async function listenHttp(server: Server, listen: { readonly host: string; readonly port: number }): Promise<void> {
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
}
