/**
 * The sharded front's routes: which path is which route, the methods each
 * allows and the scope a token needs for it. Key routes are the single-group
 * API's (http-routes.ts), with the same scopes; `/shards` is read like
 * `/status`; `POST /admin/hosts`, which moves replicas between hosts, needs
 * `admin` like the single-group service's membership changes.
 *
 * @packageDocumentation
 */
import type { HttpScope } from './http-auth.js';
import { allowedMethods, parseRoute, requiredScope } from './http-routes.js';
import type { Route } from './http-routes.js';

/** One route of the sharded front. */
export type ShardedRoute =
  | Extract<Route, { readonly kind: 'key' }>
  | { readonly kind: 'shards' }
  | { readonly kind: 'status' }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'hosts' };

/**
 * Maps a URL to its route; null for a path the front does not serve
 * (sessions and `/admin/members` are per shard). Throws `RequestError` for a
 * malformed key segment, as the single-group API does.
 */
export function parseShardedRoute(url: string): ShardedRoute | null {
  const path = url.split('?', 1)[0]!;
  if (path === '/shards') return { kind: 'shards' };
  if (path === '/status') return { kind: 'status' };
  if (path === '/metrics') return { kind: 'metrics' };
  if (path === '/admin/hosts') return { kind: 'hosts' };
  if (!path.startsWith('/kv/')) return null;
  const route = parseRoute(path);
  return route?.kind === 'key' ? route : null;
}

/** The methods a route answers. */
export function shardedAllowedMethods(route: ShardedRoute): readonly string[] {
  if (route.kind === 'key') return allowedMethods(route);
  return route.kind === 'hosts' ? ['POST'] : ['GET'];
}

/**
 * The scope a token needs for `method` on `route`: the single-group API's for
 * keys (`read` to read, `write` to write), `read` for `/shards`, `/status` and
 * `/metrics`, `admin` for `/admin/hosts`, whatever the method (as in the
 * single-group API, the token is checked before the method).
 */
export function shardedRequiredScope(route: ShardedRoute, method: string): HttpScope {
  switch (route.kind) {
    case 'key':
      return requiredScope(route, method);
    case 'shards':
    case 'status':
    case 'metrics':
      return 'read';
    case 'hosts':
      return 'admin';
  }
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]/]+):(\d{1,5})$/;

/** Checks `POST /admin/hosts`'s body: host ids mapped to their Raft and HTTP `HOST:PORT`. Throws with what is wrong. */
export function parseHostList(body: unknown): Map<string, { raft: string; http: string }> {
  const hosts = (body as { hosts?: unknown } | null)?.hosts;
  if (typeof hosts !== 'object' || hosts === null || Array.isArray(hosts)) throw new Error('the body must be {"hosts": {"ID": {"raft": "HOST:PORT", "http": "HOST:PORT"}}}');
  const result = new Map<string, { raft: string; http: string }>();
  for (const [id, value] of Object.entries(hosts as Record<string, unknown>)) {
    const { raft, http } = (value ?? {}) as { raft?: unknown; http?: unknown };
    if (id.length === 0 || typeof raft !== 'string' || typeof http !== 'string' || !HOST_PORT.test(raft) || !HOST_PORT.test(http)) {
      throw new Error(`host ${JSON.stringify(id)} needs "raft" and "http" addresses as HOST:PORT`);
    }
    result.set(id, { raft, http });
  }
  if (result.size === 0) throw new Error('the host list is empty');
  return result;
}
