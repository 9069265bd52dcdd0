/**
 * Client authentication for the KV service's HTTP API: bearer tokens, each
 * with a scope. `read` may read keys, `/status` and `/metrics`; `write` may
 * also write keys and open or close sessions; `admin` may also change the
 * membership and take backups. Every token is compared in constant time.
 *
 * @packageDocumentation
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { InvalidConfigError } from '../errors.js';

/** What a token may do; each scope includes the ones before it. */
export type HttpScope = 'read' | 'write' | 'admin';

/** The scopes, weakest first. */
export const HTTP_SCOPES: readonly HttpScope[] = ['read', 'write', 'admin'];

/** Why a request was refused: no token, a token that is not configured, or one without the scope the route needs. */
export type AuthRefusal = 'missing' | 'invalid' | 'scope';

/** Shortest accepted token, in characters: 128 bits as hex. */
export const MIN_TOKEN_CHARS = 32;

const RANK: Readonly<Record<HttpScope, number>> = { read: 0, write: 1, admin: 2 };

interface StoredToken {
  readonly digest: Buffer;
  readonly scope: HttpScope;
}

/**
 * The configured bearer tokens. Parse them with {@link HttpTokens.parse} from
 * a file of lines `SCOPE TOKEN` (blank lines and lines starting with `#` are
 * skipped). Only SHA-256 digests of the tokens are kept.
 */
export class HttpTokens {
  private constructor(private readonly tokens: readonly StoredToken[]) {}

  /**
   * Parses a token file's text. Throws `InvalidConfigError` (field
   * `http tokens`, naming the line) for an unknown scope, a token shorter
   * than {@link MIN_TOKEN_CHARS} characters or with whitespace, a token listed
   * twice, or a file without tokens.
   */
  static parse(text: string): HttpTokens {
    const tokens: StoredToken[] = [];
    const seen = new Set<string>();
    text.split('\n').forEach((raw, index) => {
      const line = raw.trim();
      if (line.length === 0 || line.startsWith('#')) return;
      const fail = (message: string): never => {
        throw new InvalidConfigError('http tokens', `line ${index + 1}: ${message}`);
      };
      const parts = line.split(/\s+/);
      if (parts.length !== 2) fail('expected "SCOPE TOKEN" (scope read, write or admin)');
      const [scope, token] = parts as [string, string];
      if (!(HTTP_SCOPES as readonly string[]).includes(scope)) fail(`unknown scope '${scope}' (read, write or admin)`);
      if (token.length < MIN_TOKEN_CHARS) fail(`the token has ${token.length} characters; at least ${MIN_TOKEN_CHARS} are needed`);
      if (seen.has(token)) fail('the token is listed twice');
      seen.add(token);
      tokens.push({ digest: digest(token), scope: scope as HttpScope });
    });
    if (tokens.length === 0) throw new InvalidConfigError('http tokens', 'no tokens (lines "SCOPE TOKEN")');
    return new HttpTokens(tokens);
  }

  /** Number of configured tokens. */
  get size(): number {
    return this.tokens.length;
  }

  /**
   * Checks an `Authorization` header against the tokens for a route that
   * needs `needed`: null when allowed, else why not. Every configured token is
   * compared (in constant time, on digests of equal length), so the time taken
   * does not tell which token, or how much of one, matched.
   */
  authorize(authorization: string | undefined, needed: HttpScope): AuthRefusal | null {
    const match = authorization === undefined ? null : /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization);
    if (match === null) return 'missing';
    const presented = digest(match[1]!);
    let found: HttpScope | null = null;
    for (const token of this.tokens) {
      if (timingSafeEqual(presented, token.digest)) found = token.scope;
    }
    if (found === null) return 'invalid';
    return RANK[found] >= RANK[needed] ? null : 'scope';
  }
}

/** The answer to a refused request: its status, JSON body and headers. */
export interface AuthRefusalReply {
  /** 401 for a missing or unknown token, 403 for a scope too weak. */
  readonly status: 401 | 403;
  /** The JSON body. */
  readonly body: {
    /** The stable code: `unauthorized` (401) or `forbidden` (403). */
    readonly error: 'unauthorized' | 'forbidden';
    /** What to do about it, for a person. */
    readonly message: string;
  };
  /** `WWW-Authenticate` on a 401, none on a 403. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * How the HTTP API answers a refusal (docs/kv.md, "Authentication and
 * HTTPS"): 401 `unauthorized` with `WWW-Authenticate: Bearer` for a missing
 * or unknown token, 403 `forbidden` for a token without `needed`'s scope. The
 * single-group API and the sharded front answer alike.
 */
export function authRefusalReply(refusal: AuthRefusal, needed: HttpScope): AuthRefusalReply {
  if (refusal === 'scope') return { status: 403, body: { error: 'forbidden', message: `this route needs a token with the ${needed} scope` }, headers: {} };
  return {
    status: 401,
    body: { error: 'unauthorized', message: refusal === 'missing' ? 'send Authorization: Bearer TOKEN' : 'the token is not valid' },
    headers: { 'www-authenticate': `Bearer realm="keel"${refusal === 'invalid' ? ', error="invalid_token"' : ''}` },
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
