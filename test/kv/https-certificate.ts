/**
 * A throwaway self-signed certificate for 127.0.0.1 (IP SAN), made with the
 * system's `openssl` in a temporary directory removed at once, for the HTTPS
 * tests of the KV API.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate (its own CA) and key for 127.0.0.1, PEM, valid one day. */
export function loopbackCertificate(): { readonly cert: string; readonly key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'keel-https-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-subj', '/CN=127.0.0.1', '-days', '1', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'pipe' });
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
