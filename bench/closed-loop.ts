/**
 * Closed-loop clients for the throughput benchmarks: `inFlight` clients each
 * keep one proposal outstanding until `entries` have been issued in all.
 */

/** How long the run took, and each proposal's latency in the order they completed. */
export interface ClosedLoopResult {
  readonly seconds: number;
  readonly latenciesMs: number[];
}

/** Runs `inFlight` clients calling `propose` until `entries` calls were issued; resolves when all have completed. */
export async function runClosedLoop(propose: () => Promise<unknown>, inFlight: number, entries: number): Promise<ClosedLoopResult> {
  const latenciesMs: number[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (issued < entries) {
        issued++;
        const begin = performance.now();
        await propose();
        latenciesMs.push(performance.now() - begin);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latenciesMs };
}
