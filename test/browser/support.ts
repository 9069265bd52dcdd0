/**
 * One Chromium and one playground server per browser test file: the page is
 * bundled once (esbuild, from the sources) and served on 127.0.0.1.
 * Chromium is Debian's (/usr/bin/chromium; .ci/run installs it), driven by
 * playwright-core.
 */
import type { Server } from 'node:http';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { buildPlayground, playgroundUrl, servePlayground } from '../../cli/playground.js';

/** Where Debian installs Chromium. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** A browser and a served playground. */
export interface Playground {
  readonly browser: Browser;
  readonly url: string;
  /** A fresh page at `query` (e.g. `?seed=3`); fails the test on any page error or request to another origin. */
  open(query: string): Promise<Page>;
  /** Closes the pages opened so far (after each test: a page left open keeps running its world). */
  closePages(): Promise<void>;
  close(): Promise<void>;
}

/** Builds and serves the playground, and launches Chromium. */
export async function startPlayground(): Promise<Playground> {
  const server: Server = await servePlayground(await buildPlayground(), 0);
  const url = playgroundUrl(server);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const pages: Page[] = [];
  return {
    browser,
    url,
    async open(query: string): Promise<Page> {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      pages.push(page);
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('request', (request) => {
        if (!request.url().startsWith(url) && !request.url().startsWith('data:')) problems.push(`request to another origin: ${request.url()}`);
      });
      (page as Page & { problems: string[] }).problems = problems;
      await page.goto(`${url}${query}`);
      return page;
    },
    async closePages(): Promise<void> {
      await Promise.all(pages.splice(0).map((page) => page.close()));
    },
    async close(): Promise<void> {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Errors the page raised and requests it made beyond its origin, so far. */
export function problemsOf(page: Page): readonly string[] {
  return (page as Page & { problems?: string[] }).problems ?? [];
}

/** The text of `data-testid=<id>`. */
export async function textOf(page: Page, id: string): Promise<string> {
  return (await page.getByTestId(id).textContent()) ?? '';
}

/** Waits until the run has ended and returns its trace hash. */
export async function traceHashWhenEnded(page: Page): Promise<string> {
  await page.waitForFunction(() => (document.querySelector('[data-testid="trace-hash"]')?.textContent ?? '') !== '', null, { timeout: 60_000 });
  return textOf(page, 'trace-hash');
}

/** Waits until the run stands still (held at its goal, or ended) and returns the digest of every node's state. */
export async function settledState(page: Page): Promise<string> {
  await page.waitForSelector('[data-testid="state"][data-settled="true"]', { state: 'attached', timeout: 60_000 });
  return textOf(page, 'state');
}

/** Moves the scrub bar to `timeMs` (forward in the run, or back by a replay) and waits until the run gets there. */
export async function seek(page: Page, timeMs: number): Promise<string> {
  const before = Number(await textOf(page, 'time'));
  await page.getByTestId('scrub').evaluate((input: HTMLInputElement, value) => {
    input.value = value;
    input.dispatchEvent(new Event('change'));
  }, String(timeMs));
  // Backwards, the page replays from the seed: the time shown passes below the target on its way up,
  // and the old time (still shown when the replay starts) is past the target too. Wait for a time at
  // or past the target and, when going back, before where the page was.
  await page.waitForFunction(({ target, from }) => {
    const now = Number(document.querySelector('[data-testid="time"]')?.textContent);
    return now >= target && (target >= from || now < from);
  }, { target: timeMs, from: before }, { timeout: 60_000 });
  return settledState(page);
}

/** Plays at the fastest speed until a leader other than `not` is shown, then pauses; returns the leader. */
export async function playUntilLeader(page: Page, not: readonly string[] = []): Promise<string> {
  await page.getByTestId('speed').selectOption('100');
  await page.getByTestId('play').click();
  const excluded = ['none', ...not];
  await page.waitForFunction((ids) => !ids.includes(document.querySelector('[data-testid="leader"]')?.textContent ?? 'none'), excluded, { timeout: 60_000 });
  await page.getByTestId('play').click();
  await settledState(page);
  return textOf(page, 'leader');
}
