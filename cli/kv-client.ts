/**
 * A small client of the KV HTTP API for the command line (`keel kv backup`,
 * `keel demo`): HTTP or HTTPS with an optional CA, a bearer token, a deadline,
 * and the response as a stream. Built on `node:http`/`node:https` rather than
 * `fetch`, which cannot be given a CA without another dependency.
 *
 * @packageDocumentation
 */
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';

/** How to reach a node's API. */
export interface KvClientOptions {
  /** The bearer token to send, when the node wants one. */
  readonly token: string | null;
  /** The CA (PEM) that signed an HTTPS node's certificate; null: the system's. */
  readonly ca: Buffer | null;
  /** Deadline for the whole exchange, in milliseconds. */
  readonly timeoutMs: number;
}

/** An answer: status and the body as a stream (consume or destroy it). */
export interface KvClientResponse {
  readonly status: number;
  readonly body: IncomingMessage;
  /** The whole body as text. */
  text(): Promise<string>;
}

/**
 * Sends `method` to `url` and resolves with the response once its headers
 * arrive. Rejects with the system error (refused, unreachable, TLS) or a
 * timeout error past `timeoutMs`.
 */
export function kvRequest(url: URL, method: string, options: KvClientOptions, body?: string): Promise<KvClientResponse> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = {};
    if (options.token !== null) headers['authorization'] = `Bearer ${options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const request = send(url, { method, headers, ...(options.ca === null ? {} : { ca: options.ca }), timeout: options.timeoutMs }, (response) => {
      resolve({ status: response.statusCode ?? 0, body: response, text: () => readText(response) });
    });
    request.once('timeout', () => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    request.once('error', reject);
    request.end(body);
  });
}

async function readText(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses `--node URL`: an `http:` or `https:` URL with a host. */
export function parseNodeUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--node must be a URL such as http://127.0.0.1:8001, got '${text}'`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname.length === 0) throw new UsageError(`--node must be an http:// or https:// URL, got '${text}'`);
  return url;
}

/** Reads `--token-file`: the token is the file's first line. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--token-file: cannot read ${path}: ${(error as Error).message}`);
  }
  const token = text.split('\n', 1)[0]!.trim();
  if (token.length === 0 || /\s/.test(token)) throw new UsageError(`--token-file ${path} must hold the token alone on its first line`);
  return token;
}

/** Reads `--ca`. */
export function readCaFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`--ca: cannot read ${path}: ${(error as Error).message}`);
  }
}
