/**
 * Progress of long work on a terminal (`keel sim` over many seeds, `--shrink`,
 * `keel bench`): one status line on stderr, redrawn in place. It shows only
 * when stderr is a terminal and the output is not `--json`; otherwise every
 * call is a no-op, so piped output and machine-readable output carry nothing
 * extra.
 */

/** Where progress goes: `process.stderr`, or a fake in tests. */
export interface ProgressStream {
  /** True for a terminal; progress is only drawn on one. */
  readonly isTTY?: boolean;
  /** Writes `text` as it is. */
  write(text: string): unknown;
}

/** Where ordinary output goes while a status line is shown (`process.stdout`). */
export interface OutputStream {
  /** Writes `text` as it is. */
  write(text: string): unknown;
}

/** Erases the current line of the terminal from the cursor to its end. */
const ERASE_LINE = '\x1b[K';

/** One redrawn status line on a terminal, or nothing at all off one. */
export class ProgressReporter {
  /** The status line shown now, or null when none is. */
  private shown: string | null = null;
  private readonly startedMs: number;

  /**
   * @param stream - where the status line goes.
   * @param enabled - false draws nothing (see {@link ProgressReporter.open}).
   * @param nowMs - the clock elapsed times are read from (wall time: progress is for people, never part of a result).
   */
  constructor(
    private readonly stream: ProgressStream,
    readonly enabled: boolean,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.startedMs = nowMs();
  }

  /** A reporter that draws on `stream` only if it is a terminal and the output is not JSON. */
  static open(options: { readonly json: boolean; readonly stream?: ProgressStream | undefined }): ProgressReporter {
    const stream = options.stream ?? process.stderr;
    return new ProgressReporter(stream, stream.isTTY === true && !options.json);
  }

  /** Seconds since the reporter was opened. */
  elapsedSeconds(): number {
    return (this.nowMs() - this.startedMs) / 1000;
  }

  /** Replaces the status line with `line`. */
  update(line: string): void {
    if (!this.enabled) return;
    this.shown = line;
    this.stream.write(`\r${line}${ERASE_LINE}`);
  }

  /**
   * Writes `text` (whole lines) to `output` above the status line: the line is
   * erased first and drawn again below, so the two never share a row. Off a
   * terminal, `text` is written as it is.
   */
  above(output: OutputStream, text: string): void {
    if (this.shown === null) {
      output.write(text);
      return;
    }
    this.stream.write(`\r${ERASE_LINE}`);
    output.write(text);
    this.stream.write(`\r${this.shown}${ERASE_LINE}`);
  }

  /** Ends the status line: it stays on screen, and the next output starts on a fresh row. */
  finish(): void {
    if (this.shown === null) return;
    this.shown = null;
    this.stream.write('\n');
  }
}

/** A bar of `width` cells, `done` of `total` filled: `[#####.....]`. */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** Seconds left for `total - done` more items at the pace of the first `done`; 0 before the first is done. */
export function secondsLeft(elapsedSeconds: number, done: number, total: number): number {
  return done > 0 ? (elapsedSeconds / done) * Math.max(0, total - done) : 0;
}

/** A duration for a status line: `42s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.ceil(seconds));
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
