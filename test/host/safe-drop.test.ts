/**
 * The safe drop's judgement on a closed replica's durable log
 * (src/host/safe-drop.ts): a replica marked removed is deleted only if its log
 * is the one it had when marked and that log leaves the host out (or is older
 * than the removal it was told of); a never-configured replica only if pristine.
 */
import { describe, expect, it } from 'vitest';
import { encodeMembership } from '../../src/confchange/encoding.js';
import type { Entry, Membership } from '../../src/core/types.js';
import { whyNotDroppable, whyNotPristine } from '../../src/host/safe-drop.js';
import type { RemovalMark } from '../../src/node/membership/known-members.js';
import { MemoryStorage } from '../../src/storage/memory.js';

const command = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index]) });
const config = (index: number, term: number, membership: Membership): Entry => ({ index, term, type: 'config', data: encodeMembership(membership) });

/** A log of h1..h3 whose entries are `entries` (from index 1). */
async function logOf(entries: Entry[]): Promise<MemoryStorage> {
  const storage = new MemoryStorage({ voters: ['h1', 'h2', 'h3'] });
  await storage.append(entries);
  return storage;
}

const byConfiguration = (lastIndex: number, lastTerm: number, configIndex: number): RemovalMark => ({ cause: 'configuration', lastIndex, lastTerm, configIndex, noticeConfigIndex: null });
const byNotice = (lastIndex: number, lastTerm: number, configIndex: number, noticeConfigIndex: number): RemovalMark => ({ cause: 'notice', lastIndex, lastTerm, configIndex, noticeConfigIndex });

describe('whyNotDroppable', () => {
  it('drops a replica whose log still ends where it was marked and whose latest configuration leaves the host out', async () => {
    const storage = await logOf([command(1, 1), config(2, 1, { voters: ['h1', 'h2'] }), command(3, 1)]);
    expect(whyNotDroppable(storage, 'h3', byConfiguration(3, 1, 2))).toBeNull();
  });

  it('drops a replica told of a removal its log never reached, although its own configuration lists the host', async () => {
    const storage = await logOf([command(1, 1), command(2, 1)]);
    expect(whyNotDroppable(storage, 'h3', byNotice(2, 1, 0, 5))).toBeNull();
  });

  it('refuses when the log grew since the mark: a leader appended to it (it was added back)', async () => {
    const storage = await logOf([command(1, 1), config(2, 1, { voters: ['h1', 'h2'] }), command(3, 1), command(4, 2)]);
    expect(whyNotDroppable(storage, 'h3', byConfiguration(3, 1, 2))).toMatch(/appended to it since/);
  });

  it('refuses when the last entry was replaced by one of another term at the same index', async () => {
    const storage = await logOf([command(1, 1), command(2, 3)]);
    expect(whyNotDroppable(storage, 'h3', byNotice(2, 1, 0, 5))).toMatch(/appended to it since/);
  });

  it('refuses when the latest stored configuration lists the host and is not older than the removal it was told of', async () => {
    const readded = await logOf([config(1, 1, { voters: ['h1', 'h2'] }), config(2, 1, { voters: ['h1', 'h2'], learners: ['h3'] })]);
    expect(whyNotDroppable(readded, 'h3', byConfiguration(2, 1, 1))).toMatch(/lists h3/);
    const told = await logOf([command(1, 1), config(2, 1, { voters: ['h1', 'h2', 'h3'] })]);
    expect(whyNotDroppable(told, 'h3', byNotice(2, 1, 2, 2))).toMatch(/lists h3/);
  });
});

describe('whyNotPristine', () => {
  it('drops a replica with no entry, no snapshot and no vote; refuses one with entries or a vote', async () => {
    const empty = new MemoryStorage(null);
    expect(whyNotPristine(empty)).toBeNull();
    const voted = new MemoryStorage(null);
    await voted.append([], { term: 2, vote: 'h1', commit: 0 });
    expect(whyNotPristine(voted)).toMatch(/voted for h1/);
    const filled = new MemoryStorage(null);
    await filled.append([command(1, 1)]);
    expect(whyNotPristine(filled)).toMatch(/entries up to 1/);
  });
});
