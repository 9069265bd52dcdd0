/**
 * The playground in Chromium, driven like a person would: elections, a
 * crashed leader replaced, a client write committed on a majority, and time
 * scrubbed back and forth to the same states. Worlds without scheduled
 * faults (`faults=none`), so only what the test does happens to them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { playUntilLeader, problemsOf, seek, settledState, startPlayground, textOf } from './support.js';
import type { Playground } from './support.js';

let playground: Playground;

beforeAll(async () => {
  playground = await startPlayground();
});

afterEach(async () => {
  await playground.closePages();
});

afterAll(async () => {
  await playground?.close();
});

const nodeIds = (state: string): string[] => [...state.matchAll(/\b(n\d+):/g)].map((match) => match[1]!);

describe('keel playground in Chromium', () => {
  it('elects a leader, and a new one after the leader is crashed', async () => {
    const page = await playground.open('?seed=4&faults=none');
    const first = await playUntilLeader(page);
    expect(first).toMatch(/^n\d$/);
    await page.getByTestId(`crash-${first}`).click();
    const second = await playUntilLeader(page, [first]);
    expect(second).not.toBe(first);
    // The crashed node is shown down, and the new leader's term is higher.
    const state = await settledState(page);
    expect(state).toContain(`${first}:down`);
    expect(await page.getByTestId(`node-${second}`).getAttribute('data-role')).toBe('leader');
    expect(problemsOf(page)).toEqual([]);
  });

  it('commits a client write on a majority: the value reaches the state machines of most nodes', async () => {
    const page = await playground.open('?seed=6&faults=none');
    const leader = await playUntilLeader(page);
    const ids = nodeIds(await settledState(page));
    const follower = ids.find((id) => id !== leader)!;
    // Proposed on a follower: it forwards the write to the leader.
    await page.getByTestId(`write-${follower}`).click();
    await page.getByTestId('play').click();
    await page.waitForFunction(() => /w1 on n\d+: ok/.test(document.querySelector('[data-testid="writes"]')?.textContent ?? ''), null, { timeout: 60_000 });
    await page.waitForFunction(
      (count) => [...document.querySelectorAll('[data-testid^="value-"]')].filter((element) => element.textContent === 'playground = w1').length >= count,
      Math.floor(ids.length / 2) + 1,
      { timeout: 60_000 },
    );
    await page.getByTestId('play').click();
    const applied = await page.locator('[data-testid^="value-"]', { hasText: 'playground = w1' }).count();
    expect(applied).toBeGreaterThanOrEqual(Math.floor(ids.length / 2) + 1);
    expect(problemsOf(page)).toEqual([]);
  });

  it('scrubbing back and forward returns the same states, the person\'s actions replayed at the same turn', async () => {
    const page = await playground.open('?seed=2');
    await seek(page, 900);
    const victim = nodeIds(await textOf(page, 'state'))[1]!;
    await page.getByTestId(`crash-${victim}`).click();
    const at1500 = await seek(page, 1500);
    expect(at1500).toContain(`${victim}:down`);
    const at600 = await seek(page, 600);
    expect(at600).not.toEqual(at1500);
    expect(at600).not.toContain(`${victim}:down`);
    expect(await seek(page, 1500)).toEqual(at1500);
    // Back again by a replay, and one step at a time forward from there.
    expect(await seek(page, 600)).toEqual(at600);
    const eventsBefore = Number(await textOf(page, 'events'));
    await page.getByTestId('step').click();
    await settledState(page);
    expect(Number(await textOf(page, 'events'))).toBeGreaterThan(eventsBefore);
    // Back: 50 ms earlier, by a replay.
    const timeBefore = Number(await textOf(page, 'time'));
    await page.getByTestId('back').click();
    await page.waitForFunction((before) => Number(document.querySelector('[data-testid="time"]')?.textContent) < before - 40, timeBefore, { timeout: 60_000 });
    const here = await settledState(page);
    expect(here).not.toContain(`${victim}:down`);
    // The address carries the run, the action and the turn: a link opens the same state.
    expect(page.url()).toMatch(/[?&]actions=\d+\.crash\.n\d/);
    expect(page.url()).toMatch(/[?&]turn=\d+/);
    const linked = await playground.open(page.url().slice(playground.url.length));
    expect(await settledState(linked)).toBe(here);
    expect(problemsOf(page)).toEqual([]);
  });

  it('transfers leadership, adds and removes a member, and elects a new leader when the leader is isolated', async () => {
    const page = await playground.open('?seed=2&faults=none');
    const leader = await playUntilLeader(page);
    const ids = nodeIds(await settledState(page));
    expect(ids).toHaveLength(5);
    const target = ids.find((id) => id !== leader)!;
    await page.getByTestId(`transfer-${target}`).click();
    expect(await playUntilLeader(page, ids.filter((id) => id !== target))).toBe(target);

    await page.getByTestId('add-member').click();
    await page.getByTestId('play').click();
    // A sixth machine joins and becomes a voter of the leader's configuration.
    await page.waitForFunction(() => document.querySelector('[data-testid="node-n6"] [data-part="role"]')?.textContent === 'follower', null, { timeout: 60_000 });
    await page.getByTestId('play').click();
    await settledState(page);
    const removed = ids.find((id) => id !== target)!;
    await page.getByTestId(`remove-${removed}`).click();
    await page.getByTestId('play').click();
    await page.waitForFunction((id) => document.querySelector(`[data-testid="node-${id}"] [data-part="role"]`)?.textContent?.includes('not a voter') === true, removed, { timeout: 60_000 });
    await page.getByTestId('play').click();
    await settledState(page);

    await page.getByTestId(`isolate-${target}`).click();
    const next = await playUntilLeader(page, [target]);
    expect(next).not.toBe(target);
    expect(await textOf(page, 'actions')).toMatch(/transfer leadership to .*add a member.*remove .*isolate /s);
    await page.getByTestId('heal').click();
    expect(problemsOf(page)).toEqual([]);
  });

  it('is usable from the keyboard: space plays and pauses, a digit picks a node, c crashes it, p pauses it, h heals a cut link', async () => {
    const page = await playground.open('?seed=4&faults=none');
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Space');
    await page.waitForFunction(() => document.querySelector('[data-testid="leader"]')?.textContent !== 'none', null, { timeout: 60_000 });
    await page.keyboard.press('Space');
    await settledState(page);
    await page.keyboard.press('2');
    await page.keyboard.press('c');
    await page.waitForFunction(() => document.querySelector('[data-testid="actions"]')?.textContent?.includes('crash n2') === true, null, { timeout: 10_000 });
    expect(await settledState(page)).toContain('n2:down');
    await page.keyboard.press('3');
    await page.keyboard.press('p');
    await page.waitForFunction(() => document.querySelector('[data-testid="node-n3"] [data-part="role"]')?.textContent?.includes('paused') === true, null, { timeout: 10_000 });
    // A one-way cut is drawn on the ring until the network heals.
    await page.getByTestId('cut-from').selectOption('n1');
    await page.getByTestId('cut-to').selectOption('n3');
    await page.getByTestId('cut').click();
    await page.waitForFunction(() => document.querySelectorAll('#ring line.cut').length === 1, null, { timeout: 10_000 });
    await page.keyboard.press('h');
    await page.waitForFunction(() => document.querySelectorAll('#ring line.cut').length === 0, null, { timeout: 10_000 });
    expect(await textOf(page, 'actions')).toMatch(/crash n2.*pause n3.*cut n1→n3.*heal the network/s);
    expect(problemsOf(page)).toEqual([]);
  });
});
