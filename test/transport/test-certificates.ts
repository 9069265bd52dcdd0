/**
 * Throwaway certificates for the mutual-TLS tests, made with the system's
 * `openssl` in a temporary directory that is removed at once: private keys
 * exist only in memory for the test's lifetime and are never committed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NodeCertificate {
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  /** The CA's certificate (PEM). */
  readonly ca: string;
  /** A certificate and key per requested name, signed by the CA. */
  readonly nodes: ReadonlyMap<string, NodeCertificate>;
}

/** A CA and one certificate per name in `names` (DNS SAN = CN = the name), ECDSA P-256, valid one day. */
export function createTestPki(names: readonly string[], caName = 'keel-test-ca'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'keel-pki-'));
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    openssl('req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', `/CN=${caName}`, '-days', '1');
    const nodes = new Map<string, NodeCertificate>();
    for (const name of names) {
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=DNS:${name}\nextendedKeyUsage=serverAuth,clientAuth\n`);
      openssl('req', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
      nodes.set(name, { cert: readFileSync(join(dir, `${name}.crt`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') });
    }
    return { ca: readFileSync(join(dir, 'ca.crt'), 'utf8'), nodes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
