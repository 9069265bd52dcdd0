/**
 * Temporary database directories under the OS temp dir, removed after each
 * test by {@link removeTempDirs}.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created: string[] = [];

/** A new empty directory under `os.tmpdir()`, remembered for cleanup. */
export async function makeTempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `keel-${label}-`));
  created.push(dir);
  return dir;
}

/** Removes every directory made so far. Close the storages in them first. */
export async function removeTempDirs(): Promise<void> {
  for (const dir of created.splice(0)) await rm(dir, { recursive: true, force: true });
}
