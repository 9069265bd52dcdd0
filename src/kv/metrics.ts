/**
 * A small metrics registry that renders the Prometheus text exposition format
 * (version 0.0.4): counters, gauges read when scraped, and histograms with
 * fixed buckets. Enough for the KV service's `/metrics`; no dependency.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';

/** Label names and values of one series. */
export type Labels = Readonly<Record<string, string>>;

/** A metric family: a name, its help text and type, and its series. */
export interface Family {
  /** The metric's name (`[a-zA-Z_:][a-zA-Z0-9_:]*`, unique in its registry). */
  readonly name: string;
  /** The `# HELP` text. */
  readonly help: string;
  /** The `# TYPE` of the family. */
  readonly type: 'counter' | 'gauge' | 'histogram';
  /** Appends the family's sample lines in the text exposition format. */
  render(lines: string[]): void;
}

/** A monotonically increasing count, one series per label set. */
export class Counter implements Family {
  /** {@inheritDoc Family.type} */
  readonly type = 'counter';
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  /** A counter with no series yet. */
  constructor(
    /** {@inheritDoc Family.name} */
    readonly name: string,
    /** {@inheritDoc Family.help} */
    readonly help: string,
  ) {}

  /** Adds `by` to the series of `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    const series = this.series.get(key);
    if (series === undefined) this.series.set(key, { labels, value: by });
    else series.value += by;
  }

  /** The current value of one series (0 when never incremented). */
  value(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.value ?? 0;
  }

  /** {@inheritDoc Family.render} */
  render(lines: string[]): void {
    for (const { labels, value } of this.series.values()) lines.push(`${this.name}${formatLabels(labels)} ${formatNumber(value)}`);
  }
}

/**
 * Values read from the application when scraped: a gauge, or a counter that
 * the application keeps itself (type `counter`, e.g. bytes a transport sent).
 */
export class Gauge implements Family {
  /** A family whose series `read` returns when scraped. */
  constructor(
    /** {@inheritDoc Family.name} */
    readonly name: string,
    /** {@inheritDoc Family.help} */
    readonly help: string,
    private readonly read: () => readonly (readonly [Labels, number])[],
    /** {@inheritDoc Family.type} */
    readonly type: 'gauge' | 'counter' = 'gauge',
  ) {}

  /** {@inheritDoc Family.render} */
  render(lines: string[]): void {
    for (const [labels, value] of this.read()) lines.push(`${this.name}${formatLabels(labels)} ${formatNumber(value)}`);
  }
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram implements Family {
  /** {@inheritDoc Family.type} */
  readonly type = 'histogram';
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  /**
   * A histogram with no observations.
   * @param bounds - upper bounds of the buckets, increasing; `+Inf` is added.
   */
  constructor(
    /** {@inheritDoc Family.name} */
    readonly name: string,
    /** {@inheritDoc Family.help} */
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = bounds.map(() => 0);
  }

  /** Counts `value` into every bucket whose bound it does not exceed. */
  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) this.counts[i]!++;
  }

  /** {@inheritDoc Family.render} */
  render(lines: string[]): void {
    this.bounds.forEach((bound, i) => lines.push(`${this.name}_bucket{le="${formatNumber(bound)}"} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${formatNumber(this.sum)}`, `${this.name}_count ${this.count}`);
  }
}

/** The families of one process, rendered together. */
export class MetricsRegistry {
  private readonly families: Family[] = [];

  /** Registers a counter. Throws `InvalidArgumentError` for an invalid or duplicate name. */
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }

  /** Registers a gauge whose series `read` returns when scraped. Throws `InvalidArgumentError` for an invalid or duplicate name. */
  gauge(name: string, help: string, read: () => readonly (readonly [Labels, number])[]): Gauge {
    return this.add(new Gauge(name, help, read));
  }

  /** A counter whose values the application keeps and this reads when scraped. */
  sampledCounter(name: string, help: string, read: () => readonly (readonly [Labels, number])[]): Gauge {
    return this.add(new Gauge(name, help, read, 'counter'));
  }

  /** Registers a histogram with these bucket bounds (increasing; `+Inf` is added). Throws `InvalidArgumentError` for an invalid or duplicate name. */
  histogram(name: string, help: string, bounds: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, bounds));
  }

  /** The text exposition format, ending with a newline. */
  render(): string {
    const lines: string[] = [];
    for (const family of this.families) {
      lines.push(`# HELP ${family.name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${family.name} ${family.type}`);
      family.render(lines);
    }
    return `${lines.join('\n')}\n`;
  }

  private add<F extends Family>(family: F): F {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(family.name) || this.families.some((other) => other.name === family.name)) {
      throw new InvalidArgumentError(`invalid or duplicate metric name ${family.name}`);
    }
    this.families.push(family);
    return family;
  }
}

function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
