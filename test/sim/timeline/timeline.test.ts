/**
 * The HTML timeline of `keel sim --trace`: a tapped run is the same run, the
 * recorder turns trace lines and messages into lanes, arrows and faults, and
 * the page draws them — checked on the markup, without a browser.
 */
import { describe, expect, test } from 'vitest';
import { formatRunReport, runSeed } from '../../../sim/runtime/run.js';
import { renderTimelineHtml } from '../../../sim/timeline/render-html.js';
import { escapeXml } from '../../../sim/timeline/svg.js';
import { TimelineRecorder } from '../../../sim/timeline/timeline.js';
import type { Timeline } from '../../../sim/timeline/timeline.js';
import { traceSeed } from '../../../sim/timeline/trace-run.js';

const count = (html: string, pattern: RegExp): number => [...html.matchAll(pattern)].length;

describe('a traced run', () => {
  const options = { durationMs: 3000, faults: ['crash'], plantedBug: 'lying-disk' } as const;

  test('is the same run as an untraced one, and its page shows lanes, arrows, crashes and the violation', async () => {
    const traced = await traceSeed(13, options);
    const plain = await runSeed(13, options);
    expect(traced.report.traceHash).toBe(plain.traceHash);

    const { timeline, html } = traced;
    expect(timeline.nodes).toEqual(['n1', 'n2', 'n3']);
    expect(timeline.violation?.invariant).toBe('Leader Completeness');
    expect(timeline.spans.some((span) => span.role === 'leader')).toBe(true);
    expect(timeline.spans.some((span) => span.role === 'down')).toBe(true);
    expect(timeline.messages.length).toBe(timeline.messagesTotal);
    expect(timeline.operations.length).toBe(plain.operations.total);

    expect(count(html, /class="lane"/g)).toBe(2 * timeline.nodes.length); // the overview and the detailed view
    expect(count(html, /<line class="msg /g)).toBe(timeline.messages.length);
    expect(count(html, /<rect class="role role-down"/g)).toBeGreaterThan(0);
    expect(count(html, /class="marker marker-crash"/g)).toBe(plain.coverage.crash);
    expect(count(html, /<line class="violation"/g)).toBe(2);
    expect(html).toContain('Leader Completeness');
    expect(html).toContain(escapeXml(plain.replay));
    // Self-contained: nothing is fetched.
    expect(html).not.toMatch(/<(link|img|iframe)\b|\bsrc=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  test('a long run keeps its page bounded: messages beyond the limit are sampled, with a note', async () => {
    const traced = await traceSeed(7, { durationMs: 2000 }, 500);
    if (!traced.report.ok) console.log(formatRunReport(traced.report));
    expect(traced.timeline.messagesTotal).toBeGreaterThan(500);
    expect(traced.timeline.messages).toHaveLength(500);
    expect(count(traced.html, /<line class="msg /g)).toBe(500);
    expect(traced.html).toContain(`${traced.timeline.messagesTotal} messages — showing 500`);
  });
});

describe('TimelineRecorder', () => {
  test('reads roles, crashes, restarts, faults, heals and client operations from trace lines', () => {
    const recorder = new TimelineRecorder(['n1', 'n2', 'n3']);
    recorder.event(0, 'n1 start #1 rate 1.00000');
    recorder.event(0, 'n2 start #1 rate 1.00000');
    recorder.event(0, 'n3 start #1 rate 1.00000');
    recorder.event(50, 'n1 role candidate t1');
    recorder.event(60, 'n1 role leader t1');
    recorder.event(70, 'c1 invoke #0 put k0 c1.1 seq 1');
    recorder.event(80, 'c1 ok #0 null');
    recorder.event(100, 'fault partition isolate [n1,n2,n3] for 50.0ms');
    recorder.event(120, 'fault pause n3 for 40.0ms');
    recorder.event(130, 'n2 crash');
    recorder.event(140, 'n3 resume');
    recorder.event(150, 'heal partition');
    recorder.event(160, 'n2 start #2 rate 1.00000');
    recorder.event(170, 'fault clog n1<>n3 for 100.0ms');
    recorder.event(200, 'liveness: heal core [n1,n3]');
    recorder.event(210, 'FINDING Election Safety: two leaders in term 1');
    const timeline = recorder.timeline(220);

    expect(timeline.spans.filter((span) => span.node === 'n1').map((span) => [span.role, span.fromMs, span.toMs])).toEqual([
      ['follower', 0, 50],
      ['candidate', 50, 60],
      ['leader', 60, 220],
    ]);
    expect(timeline.spans.filter((span) => span.node === 'n2').map((span) => span.role)).toEqual(['follower', 'down', 'follower']);
    const byKind = (kind: string): [number, number][] => timeline.faults.filter((fault) => fault.kind === kind).map((fault) => [fault.fromMs, fault.toMs]);
    expect(byKind('partition')).toEqual([[100, 150]]);
    expect(byKind('pause')).toEqual([[120, 140]]);
    expect(byKind('clog')).toEqual([[170, 200]]);
    expect(timeline.faults.find((fault) => fault.kind === 'partition')?.cuts).toHaveLength(4);
    expect(timeline.operations).toEqual([{ client: 'c1', id: 0, invokeMs: 70, completeMs: 80, outcome: 'ok', label: 'put k0 c1.1 → null' }]);
    expect(timeline.violation).toEqual({ atMs: 210, invariant: 'Election Safety', detail: 'two leaders in term 1' });
    expect(timeline.markers.map((marker) => marker.kind)).toEqual(['crash', 'liveness']);
  });

  test('pairs each delivery with its send, a duplicate with its own copy, and reports what never arrived as lost', () => {
    const recorder = new TimelineRecorder(['n1', 'n2']);
    const message = { kind: 'forward' as const, from: 'n1', to: 'n2', requestId: 7, payload: new Uint8Array() };
    const lost = { kind: 'forward' as const, from: 'n2', to: 'n1', requestId: 8, payload: new Uint8Array() };
    recorder.sent(10, 'n1', 'n2', message);
    recorder.sent(11, 'n1', 'n2', message);
    recorder.sent(12, 'n2', 'n1', lost);
    recorder.delivered(15, 'n1', 'n2', message);
    recorder.delivered(19, 'n1', 'n2', message);
    const timeline = recorder.timeline(30);
    expect(timeline.messages.map((arrow) => [arrow.from, arrow.to, arrow.sentMs, arrow.receivedMs])).toEqual([
      ['n1', 'n2', 10, 15],
      ['n1', 'n2', 11, 19],
      ['n2', 'n1', 12, null],
    ]);
  });
});

describe('renderTimelineHtml', () => {
  test('escapes every string from the run: invariant details, client values, titles', () => {
    const hostile = `<script>alert("x")</script> & 'quotes'`;
    const timeline: Timeline = {
      nodes: ['n1', 'n2'],
      clients: ['c1'],
      endMs: 100,
      spans: [{ node: 'n1', fromMs: 0, toMs: 100, role: 'leader', term: 2 }],
      faults: [{ kind: 'pause', fromMs: 10, toMs: 20, nodes: ['n2'], label: hostile, cuts: [] }],
      markers: [{ atMs: 30, node: 'n2', kind: 'fault', label: hostile }],
      messages: [{ from: 'n1', to: 'n2', sentMs: 5, receivedMs: 8, label: hostile }],
      messagesTotal: 1,
      operations: [{ client: 'c1', id: 0, invokeMs: 1, completeMs: 9, label: hostile, outcome: 'ok' }],
      violation: { atMs: 50, invariant: hostile, detail: hostile },
    };
    const html = renderTimelineHtml(timeline, { title: hostile, summary: [hostile] });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain(`"x"`);
    expect(count(html, /&#60;script&#62;alert\(&#34;x&#34;\)&#60;\/script&#62; &#38; &#39;quotes&#39;/g)).toBeGreaterThanOrEqual(8);
    // The page's own script is the only one.
    expect(count(html, /<script>/g)).toBe(1);
  });
});
