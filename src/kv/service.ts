/**
 * The KV service's HTTP server: {@link KvHttpApi} on a `node:http` server,
 * or `node:https` when given a certificate and key, started and stopped as one.
 *
 * @packageDocumentation
 */
import { createServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';
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
    const server = createKvServer(api.handle, listen.tls);
    await listenHttp(server, listen);
    return new KvHttpServer(api, server, listen.tls !== undefined);
  }

  /** The address the server listens on. */
  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** The base URL, e.g. `http://127.0.0.1:8001` or `https://127.0.0.1:8001`. */
  get url(): string {
    return serverUrl(this.server, this.secure);
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
 * A `node:http` server for `listener`, or a `node:https` one (TLS 1.2 or
 * later) with `tls`'s certificate and key. Shared by the KV server and the
 * sharded front, so that both serve HTTPS alike. A bad certificate or key
 * throws from `node:tls`.
 */
export function createKvServer(listener: RequestListener, tls: HttpTlsOptions | undefined): Server {
  return tls === undefined ? createServer(listener) : createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, listener);
}

/** The base URL of a listening server, e.g. `http://127.0.0.1:8001`, `https://[::1]:8001`. */
export function serverUrl(server: Server, secure: boolean): string {
  const { address, port, family } = server.address() as AddressInfo;
  return `${secure ? 'https' : 'http'}://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
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
