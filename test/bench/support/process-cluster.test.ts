/**
 * ProcessCluster (the harness of the real-process tests) when one of its
 * processes ends by itself: stop() and kill() must return instead of waiting
 * for an 'exit' event that has already fired, and the exit is reported.
 *
 * Regression: a `keel kv` child that exited early (a crash, a port already in
 * use) made stop() wait for ever; the test runner's fork sat idle with the
 * six proxy listeners open until the test timed out.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ProcessCluster } from '../../../bench/support/process-cluster.js';

let cluster: ProcessCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  await cluster?.remove();
  cluster = null;
});

/** Polls `condition` (every 50 ms) until it holds; fails after `timeoutMs` naming `what`. */
async function waitFor(what: string, timeoutMs: number, condition: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `promise`, or an error naming `what` after `ms`: the regression is a promise that never settles. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts a two-node cluster (so with proxies) and waits until both nodes serve HTTP (and so handle SIGTERM). */
async function started(): Promise<ProcessCluster> {
  const c = (cluster = await ProcessCluster.start({ size: 2, args: ['--tick-ms', '50'] }));
  for (const node of c.nodes) {
    await waitFor(`${node.id} to answer /status`, 60_000, async () => (await fetch(`${node.url}/status`, { signal: AbortSignal.timeout(2_000) }).catch(() => null))?.status === 200);
  }
  return c;
}

/** Ends n1's process behind the cluster's back, as a crash would, and waits until the cluster has seen it exit. */
async function crashN1(c: ProcessCluster): Promise<number> {
  const pid = c.node('n1').child!.pid!;
  process.kill(pid, 'SIGKILL');
  await waitFor('the cluster to see n1 exit', 30_000, () => c.unexpectedExits().length > 0);
  return pid;
}

describe('ProcessCluster with a process that ended by itself', () => {
  test('stop() returns, stops the others and closes every proxy; the exit is reported', async () => {
    const c = await started();
    const pid = await crashN1(c);

    const codes = await within(30_000, 'stop()', c.stop());

    expect(codes).toEqual([null, 0]); // n1 ended by SIGKILL; n2 stopped by SIGTERM
    expect(c.unexpectedExits()).toEqual([{ id: 'n1', pid, code: null, signal: 'SIGKILL' }]);
    expect(await c.exitReport()).toMatch(/^n1 \(pid \d+\) was ended by SIGKILL, unasked/);
    expect(process.getActiveResourcesInfo().filter((type) => type === 'TCPServerWrap')).toEqual([]);
  });

  test('kill() of a process that already ended returns at once', async () => {
    const c = await started();
    await crashN1(c);

    await within(5_000, 'kill(n1)', c.kill('n1'));

    expect(c.node('n1').child).toBeNull();
    expect(await within(30_000, 'stop()', c.stop())).toEqual([null, 0]);
  });

  test('processes the cluster stops or kills are not reported as unexpected', async () => {
    const c = await started();
    await c.kill('n1');
    expect(await c.stop()).toEqual([null, 0]);
    expect(c.unexpectedExits()).toEqual([]);
    expect(await c.exitReport()).toBe('');
  });
});
