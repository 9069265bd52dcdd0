/**
 * The KV HTTP API's routes: which path is which route, the methods each
 * allows, the scope a token needs for it, and its name in `/metrics`.
 *
 * @packageDocumentation
 */
import type { HttpScope } from './http-auth.js';

/** One route of the API, parsed from a request's path. */
export type Route =
  | { readonly kind: 'key'; readonly key: string; readonly action: 'value' | 'append' | 'cas' }
  | { readonly kind: 'status' }
  | { readonly kind: 'members' }
  | { readonly kind: 'member'; readonly id: string }
  | { readonly kind: 'backup' }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'sessions' }
  | { readonly kind: 'session'; readonly id: number };

/** A request that cannot be served as sent; becomes a 4xx reply. */
export class RequestError extends Error {
  /**
   * @param status - the HTTP status to answer
   * @param error - the stable `error` field of the JSON body
   */
  constructor(readonly status: number, readonly error: string, message: string) {
    super(message);
  }
}

/** Maps a URL to its route; null for an unknown path. Key segments are percent-decoded (`/` in a key is `%2F`). Throws {@link RequestError} for a malformed segment. */
export function parseRoute(url: string): Route | null {
  const path = url.split('?', 1)[0]!;
  if (path === '/status') return { kind: 'status' };
  if (path === '/metrics') return { kind: 'metrics' };
  if (path === '/admin/members') return { kind: 'members' };
  if (path === '/admin/backup') return { kind: 'backup' };
  if (path === '/sessions') return { kind: 'sessions' };
  if (path.startsWith('/sessions/')) {
    const segment = path.slice('/sessions/'.length);
    if (!/^[1-9][0-9]{0,15}$/.test(segment) || !Number.isSafeInteger(Number(segment))) throw new RequestError(400, 'invalid_session', 'the session id must be a positive integer from POST /sessions');
    return { kind: 'session', id: Number(segment) };
  }
  if (path.startsWith('/admin/members/')) {
    const segment = path.slice('/admin/members/'.length);
    if (segment.length === 0 || segment.includes('/')) return null;
    try {
      return { kind: 'member', id: decodeURIComponent(segment) };
    } catch {
      throw new RequestError(400, 'invalid_request', 'the member id is not valid percent-encoded UTF-8');
    }
  }
  const segments = path.split('/');
  if (segments[0] !== '' || segments[1] !== 'kv' || segments.length < 3 || segments.length > 4) return null;
  let key: string;
  try {
    key = decodeURIComponent(segments[2]!);
  } catch {
    throw new RequestError(400, 'invalid_key', 'the key is not valid percent-encoded UTF-8');
  }
  if (segments.length === 3) return { kind: 'key', key, action: 'value' };
  if (segments[3] === 'append' || segments[3] === 'cas') return { kind: 'key', key, action: segments[3] };
  return null;
}

/** The route's name for metrics: `kv_value`, `kv_append`, `kv_cas`, `status`, `metrics`, `sessions`, `session`, `admin_members`, `admin_member`, `admin_backup`, or `unknown`. */
export function routeLabel(url: string): string {
  try {
    const route = parseRoute(url);
    if (route === null) return 'unknown';
    if (route.kind === 'key') return `kv_${route.action}`;
    if (route.kind === 'member') return 'admin_member';
    if (route.kind === 'members') return 'admin_members';
    if (route.kind === 'backup') return 'admin_backup';
    return route.kind;
  } catch {
    return 'unknown';
  }
}

/** The methods a route answers. */
export function allowedMethods(route: Route): readonly string[] {
  if (route.kind === 'members' || route.kind === 'sessions') return ['POST'];
  if (route.kind === 'member' || route.kind === 'session') return ['DELETE'];
  if (route.kind !== 'key') return ['GET'];
  return route.action === 'value' ? ['GET', 'PUT', 'DELETE'] : ['POST'];
}

/**
 * The scope a token needs for `method` on `route`: `read` for reading keys,
 * `/status` and `/metrics`; `write` for writing keys and sessions; `admin`
 * for membership changes and backups.
 */
export function requiredScope(route: Route, method: string): HttpScope {
  switch (route.kind) {
    case 'status':
    case 'metrics':
      return 'read';
    case 'key':
      return route.action === 'value' && method === 'GET' ? 'read' : 'write';
    case 'sessions':
    case 'session':
      return 'write';
    case 'members':
    case 'member':
    case 'backup':
      return 'admin';
  }
}
