import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { MetricsRegistry } from '../../src/kv/metrics.js';

describe('MetricsRegistry', () => {
  it('renders counters, gauges and cumulative histograms in the text format', () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter('requests_total', 'Requests.');
    requests.inc({ code: '200' });
    requests.inc({ code: '200' }, 2);
    requests.inc({ code: '503' });
    registry.gauge('temperature', 'Line one\nline two.', () => [[{ room: 'a "quoted" \\ name' }, 21.5], [{}, Infinity]]);
    registry.sampledCounter('bytes_total', 'Bytes.', () => [[{ direction: 'sent' }, 42]]);
    const latency = registry.histogram('latency_seconds', 'Latency.', [0.1, 1]);
    for (const value of [0.05, 0.1, 0.5, 3]) latency.observe(value);

    expect(registry.render()).toBe([
      '# HELP requests_total Requests.',
      '# TYPE requests_total counter',
      'requests_total{code="200"} 3',
      'requests_total{code="503"} 1',
      '# HELP temperature Line one\\nline two.',
      '# TYPE temperature gauge',
      'temperature{room="a \\"quoted\\" \\\\ name"} 21.5',
      'temperature +Inf',
      '# HELP bytes_total Bytes.',
      '# TYPE bytes_total counter',
      'bytes_total{direction="sent"} 42',
      '# HELP latency_seconds Latency.',
      '# TYPE latency_seconds histogram',
      'latency_seconds_bucket{le="0.1"} 2',
      'latency_seconds_bucket{le="1"} 3',
      'latency_seconds_bucket{le="+Inf"} 4',
      'latency_seconds_sum 3.65',
      'latency_seconds_count 4',
      '',
    ].join('\n'));
    expect(requests.value({ code: '200' })).toBe(3);
    expect(requests.value({ code: '404' })).toBe(0);
  });

  it('refuses invalid and duplicate names', () => {
    const registry = new MetricsRegistry();
    registry.counter('ok_total', 'x');
    expect(() => registry.counter('ok_total', 'again')).toThrow(InvalidArgumentError);
    expect(() => registry.gauge('bad-name', 'x', () => [])).toThrow(InvalidArgumentError);
  });
});
