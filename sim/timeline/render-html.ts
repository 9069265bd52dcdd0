/**
 * A {@link Timeline} as one self-contained HTML page (`keel sim --trace
 * run.html`): inline CSS, inline SVG and a few lines of inline script, no
 * network. One lane per node shows its role and term over time (down and
 * paused shaded), messages are arrows from the sender's lane at the send
 * time to the receiver's at the delivery time, faults are shaded bands,
 * client operations are bars on lanes of their own, and the violation is a
 * red line. An overview strip above shows the whole run; clicking it
 * scrolls the detailed view, which opens at the violation.
 */
import type { NodeId } from '../../src/core/types.js';
import type { Link } from '../world/partitions.js';
import { coordinate, element, escapeXml, tickStepMs } from './svg.js';
import type { FaultSpan, MessageArrow, Timeline } from './timeline.js';

/** What the page says about the run besides the timeline. */
export interface TimelinePage {
  /** The page title, e.g. `seed 13`. */
  readonly title: string;
  /** Lines shown above the timeline: the run's summary, its replay command. */
  readonly summary: readonly string[];
}

const LEFT_PX = 110;
const AXIS_PX = 34;
const NODE_LANE_PX = 46;
const CLIENT_LANE_PX = 18;
const GAP_PX = 16;
const BAR_PX = 14;
const OVERVIEW_WIDTH_PX = 1200;
/** The detailed view's target width: wide enough to tell messages apart, narrow enough for a browser. */
const DETAIL_WIDTH_PX = 30_000;

/** Where things go on one drawing. */
interface Layout {
  readonly pxPerMs: number;
  /** Where time 0 is drawn. */
  readonly leftPx: number;
  readonly width: number;
  readonly height: number;
  x(ms: number): number;
  /** The vertical middle of a node's lane. */
  nodeY(node: NodeId): number;
  clientY(client: string): number;
  readonly lanesBottom: number;
}

function layoutOf(timeline: Timeline, pxPerMs: number, withClients: boolean, leftPx: number): Layout {
  const nodeIndex = new Map(timeline.nodes.map((node, i) => [node, i]));
  const clientIndex = new Map(timeline.clients.map((client, i) => [client, i]));
  const nodesBottom = AXIS_PX + timeline.nodes.length * NODE_LANE_PX;
  const lanesBottom = withClients && timeline.clients.length > 0 ? nodesBottom + GAP_PX + timeline.clients.length * CLIENT_LANE_PX : nodesBottom;
  return {
    pxPerMs,
    leftPx,
    width: leftPx + timeline.endMs * pxPerMs + 40,
    height: lanesBottom + 10,
    x: (ms) => leftPx + ms * pxPerMs,
    nodeY: (node) => AXIS_PX + (nodeIndex.get(node) ?? 0) * NODE_LANE_PX + NODE_LANE_PX / 2,
    clientY: (client) => nodesBottom + GAP_PX + (clientIndex.get(client) ?? 0) * CLIENT_LANE_PX + CLIENT_LANE_PX / 2,
    lanesBottom,
  };
}

/** Renders the page. */
export function renderTimelineHtml(timeline: Timeline, page: TimelinePage): string {
  const endMs = Math.max(timeline.endMs, 1);
  const detail = layoutOf(timeline, Math.min(6, Math.max(0.02, DETAIL_WIDTH_PX / endMs)), true, 12);
  const overview = layoutOf(timeline, (OVERVIEW_WIDTH_PX - LEFT_PX - 40) / endMs, false, LEFT_PX);
  const sampled = timeline.messages.length < timeline.messagesTotal;
  const notes = [
    `${timeline.nodes.length} nodes, ${clientCount(timeline)} clients (each with a probe in the liveness phase), ${(endMs / 1000).toFixed(3)} simulated seconds, ${timeline.messagesTotal} messages` +
      (sampled ? ` — showing ${timeline.messages.length}: every message of the last part of the run, an even sample before it` : ''),
  ];
  const violation = timeline.violation;
  const startMs = violation === null ? 0 : Math.max(0, violation.atMs - 700 / detail.pxPerMs);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(page.title)} — Keel simulator timeline</title>
<style>${STYLE}</style></head>
<body>
<h1>${escapeXml(page.title)}</h1>
${page.summary.map((line) => `<p class="summary">${escapeXml(line)}</p>`).join('\n')}
${notes.map((line) => `<p class="note">${escapeXml(line)}</p>`).join('\n')}
${violation === null ? '<p class="ok">No violation.</p>' : `<p class="violation">Violation at ${violation.atMs.toFixed(3)} ms: <b>${escapeXml(violation.invariant)}</b></p><pre class="detail">${escapeXml(violation.detail)}</pre>`}
${LEGEND}
<h2>Overview <span class="hint">(click to scroll the detailed view there)</span></h2>
<div id="overview">${renderSvg(timeline, overview, false)}</div>
<h2>Timeline <span class="hint">(scroll sideways; hover over anything for details)</span></h2>
<div class="frame">${renderLaneLabels(timeline, detail, true)}<div id="detail" data-px-per-ms="${coordinate(detail.pxPerMs)}" data-start-ms="${coordinate(startMs)}">${renderSvg(timeline, detail, true)}</div></div>
<script>${SCRIPT.replace('OVERVIEW_PX_PER_MS', String(overview.pxPerMs)).replace('LEFT_PX', String(LEFT_PX))}</script>
</body></html>
`;
}

/** Clients, not counting the liveness phase's probe clients (which have lanes of their own). */
function clientCount(timeline: Timeline): number {
  return timeline.clients.filter((client) => !client.endsWith('-probe')).length;
}

function renderSvg(timeline: Timeline, layout: Layout, detailed: boolean): string {
  const parts = [
    renderAxis(timeline, layout),
    renderLaneLines(timeline, layout),
    detailed ? '' : renderLaneLabelText(timeline, layout, false),
    ...timeline.faults.map((fault) => renderFault(timeline, fault, layout, detailed)),
    ...timeline.spans.map((span) => renderSpan(span, layout, detailed)),
  ];
  if (!detailed) parts.push(...timeline.markers.filter((marker) => marker.node === null).map((marker) => renderMarker(marker, timeline, layout)));
  if (detailed) {
    parts.push(`<g class="messages">${timeline.messages.map((message) => renderMessage(message, layout)).join('')}</g>`);
    parts.push(...timeline.markers.map((marker) => renderMarker(marker, timeline, layout)));
    parts.push(...timeline.operations.map((operation) => renderOperation(operation, timeline, layout)));
  }
  if (timeline.violation !== null) {
    const x = layout.x(timeline.violation.atMs);
    parts.push(element('line', { class: 'violation', x1: x, x2: x, y1: AXIS_PX - 12, y2: layout.lanesBottom }, `${timeline.violation.invariant}: ${timeline.violation.detail}`));
    // Left of the line: a violation usually ends the run, so the right edge is right there.
    parts.push(element('text', { class: 'violation-label', x: x - 4, y: AXIS_PX - 14, 'text-anchor': 'end' }, undefined, escapeXml(`✖ ${timeline.violation.invariant}`)));
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" class="${detailed ? 'detail' : 'overview'}" width="${coordinate(layout.width)}" height="${coordinate(layout.height)}">${DEFS}${parts.join('\n')}</svg>`;
}

function renderAxis(timeline: Timeline, layout: Layout): string {
  const step = tickStepMs(layout.pxPerMs, 90);
  const ticks: string[] = [];
  for (let ms = 0, count = 0; ms <= timeline.endMs && count < 10_000; ms += step, count++) {
    const x = layout.x(ms);
    ticks.push(element('line', { class: 'tick', x1: x, x2: x, y1: AXIS_PX - 6, y2: layout.lanesBottom }));
    ticks.push(element('text', { class: 'axis', x: x + 2, y: AXIS_PX - 8 }, undefined, `${Number(ms.toFixed(3))} ms`));
  }
  return `<g>${ticks.join('')}</g>`;
}

/** The lane names of the detailed view, in a column of their own that stays put while the timeline scrolls. */
function renderLaneLabels(timeline: Timeline, layout: Layout, detailed: boolean): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" class="labels" width="${LEFT_PX}" height="${coordinate(layout.height)}">${renderLaneLabelText(timeline, layout, detailed)}</svg>`;
}

function renderLaneLabelText(timeline: Timeline, layout: Layout, withClients: boolean): string {
  const labels = timeline.nodes.map((node) => element('text', { class: 'lane', x: 8, y: layout.nodeY(node) + 4 }, undefined, escapeXml(node)));
  if (withClients) {
    for (const client of timeline.clients) labels.push(element('text', { class: 'client-lane', x: 8, y: layout.clientY(client) + 4 }, undefined, escapeXml(client)));
  }
  return `<g>${labels.join('')}</g>`;
}

function renderLaneLines(timeline: Timeline, layout: Layout): string {
  const lines = timeline.nodes.map((node) => element('line', { class: 'lane-line', x1: layout.leftPx, x2: layout.width, y1: layout.nodeY(node), y2: layout.nodeY(node) }));
  return `<g>${lines.join('')}</g>`;
}

function renderSpan(span: Timeline['spans'][number], layout: Layout, detailed: boolean): string {
  const x = layout.x(span.fromMs);
  const width = Math.max(0.5, (span.toMs - span.fromMs) * layout.pxPerMs);
  const y = layout.nodeY(span.node) - BAR_PX / 2;
  // A follower's term can change without a role event (it votes, it hears a new leader): only show terms that are known.
  const known = span.role !== 'down' && span.role !== 'follower';
  const tooltip = `${span.node} ${span.role}${known ? ` in term ${span.term}` : ''}, ${span.fromMs.toFixed(1)}–${span.toMs.toFixed(1)} ms`;
  const bar = element('rect', { class: `role role-${span.role}`, x, y, width, height: BAR_PX }, tooltip);
  const label = known ? `${ROLE_LETTERS[span.role] ?? span.role} t${span.term}` : (ROLE_LETTERS[span.role] ?? span.role);
  const text = detailed && width >= 34 ? element('text', { class: 'role-label', x: x + 3, y: y + BAR_PX - 3 }, undefined, escapeXml(label)) : '';
  return bar + text;
}

const ROLE_LETTERS: Readonly<Record<string, string>> = { follower: 'follower', preCandidate: 'pre', candidate: 'C', leader: 'LEADER', down: 'down' };

function renderFault(timeline: Timeline, fault: FaultSpan, layout: Layout, detailed: boolean): string {
  const x = layout.x(fault.fromMs);
  const width = Math.max(1, (fault.toMs - fault.fromMs) * layout.pxPerMs);
  const tooltip = `${fault.label} (${fault.fromMs.toFixed(1)}–${fault.toMs.toFixed(1)} ms)`;
  if (fault.kind === 'partition') {
    const top = AXIS_PX;
    const height = timeline.nodes.length * NODE_LANE_PX;
    const band = element('rect', { class: 'fault-partition', x, y: top, width, height }, tooltip);
    // Nodes that hear the same set of peers share a colour: the sides of the partition.
    const sides = sidesOf(timeline.nodes, fault.cuts);
    const strips = timeline.nodes.map((node) =>
      element('rect', { class: `side side-${sides.get(node) ?? 0}`, x, y: layout.nodeY(node) + BAR_PX / 2 + 2, width, height: 5 }, `${node}: side ${(sides.get(node) ?? 0) + 1} of ${fault.label}`),
    );
    const label = detailed ? element('text', { class: 'fault-label', x: x + 3, y: top + 10 }, undefined, escapeXml(fault.label)) : '';
    return band + strips.join('') + label;
  }
  const rows = fault.nodes.map((node) => {
    const y = layout.nodeY(node) - NODE_LANE_PX / 2 + 3;
    return element('rect', { class: `fault-${fault.kind}`, x, y, width, height: NODE_LANE_PX - 6 }, tooltip);
  });
  const first = fault.nodes[0];
  const label = detailed && first !== undefined ? element('text', { class: 'fault-label', x: x + 3, y: layout.nodeY(first) - NODE_LANE_PX / 2 + 12 }, undefined, escapeXml(fault.kind)) : '';
  return rows.join('') + label;
}

/** Groups nodes by the set of peers they still hear under `cuts`; 0 is the largest group. */
function sidesOf(nodes: readonly NodeId[], cuts: readonly Link[]): Map<NodeId, number> {
  const heard = new Map<NodeId, string>();
  for (const node of nodes) heard.set(node, nodes.filter((from) => from === node || !cuts.some((link) => link.from === from && link.to === node)).join(','));
  const groups = [...new Set(heard.values())].sort((a, b) => countOf(heard, b) - countOf(heard, a));
  return new Map(nodes.map((node) => [node, groups.indexOf(heard.get(node)!) % 6]));
}

function countOf(map: ReadonlyMap<NodeId, string>, value: string): number {
  let count = 0;
  for (const entry of map.values()) if (entry === value) count++;
  return count;
}

function renderMessage(message: MessageArrow, layout: Layout): string {
  const kind = messageClass(message.label);
  const x1 = layout.x(message.sentMs);
  const y1 = layout.nodeY(message.from);
  const targetY = layout.nodeY(message.to);
  if (message.receivedMs === null) {
    // A lost message: a dashed stub a third of the way towards its target.
    const y2 = y1 + (targetY - y1) / 3;
    return element('line', { class: `msg lost`, x1, y1, x2: x1 + 6, y2 }, `${message.from}→${message.to} ${message.label}, sent ${message.sentMs.toFixed(3)} ms, never delivered`);
  }
  const x2 = layout.x(message.receivedMs);
  const tooltip = `${message.from}→${message.to} ${message.label}, sent ${message.sentMs.toFixed(3)} ms, received ${message.receivedMs.toFixed(3)} ms`;
  return element('line', { class: `msg ${kind}`, x1, y1, x2, y2: targetY, 'marker-end': `url(#head-${kind})` }, tooltip);
}

/** The colour class of a message, from the first word of its description. */
function messageClass(label: string): string {
  const word = label.split(' ')[0] ?? '';
  if (word === 'app') return 'append';
  if (word === 'appResp') return 'append-resp';
  if (word === 'hb' || word === 'hbResp') return 'heartbeat';
  if (word.startsWith('vote') || word.startsWith('preVote')) return 'vote';
  if (word === 'snap' || word.startsWith('chunk')) return 'snapshot';
  if (word.startsWith('fwd')) return 'forward';
  return 'other';
}

function renderMarker(marker: Timeline['markers'][number], timeline: Timeline, layout: Layout): string {
  const x = layout.x(marker.atMs);
  const tooltip = `${marker.atMs.toFixed(3)} ms: ${marker.label}`;
  if (marker.node === null || !timeline.nodes.includes(marker.node)) {
    const line = element('line', { class: `marker-line marker-${marker.kind}`, x1: x, x2: x, y1: AXIS_PX, y2: layout.lanesBottom }, tooltip);
    return line + element('text', { class: 'marker-label', x: x + 3, y: layout.lanesBottom - 2 }, undefined, escapeXml(marker.kind === 'liveness' ? 'liveness phase' : marker.label));
  }
  const y = layout.nodeY(marker.node) - BAR_PX / 2 - 4;
  const glyph = MARKER_GLYPHS[marker.kind];
  return element('text', { class: `marker marker-${marker.kind}`, x: x - 4, y }, tooltip, escapeXml(glyph));
}

const MARKER_GLYPHS: Readonly<Record<Timeline['markers'][number]['kind'], string>> = {
  crash: '✕',
  fault: '⚡',
  ioError: '!',
  snapshot: '◆',
  transfer: '⇄',
  liveness: '|',
};

function renderOperation(operation: Timeline['operations'][number], timeline: Timeline, layout: Layout): string {
  const x = layout.x(operation.invokeMs);
  const end = operation.completeMs ?? timeline.endMs;
  const width = Math.max(1.5, (end - operation.invokeMs) * layout.pxPerMs);
  const y = layout.clientY(operation.client) - CLIENT_LANE_PX / 2 + 3;
  const tooltip = `${operation.client} #${operation.id} ${operation.label} [${operation.invokeMs.toFixed(1)}, ${operation.completeMs === null ? 'never answered' : operation.completeMs.toFixed(1)}]`;
  return element('rect', { class: `op op-${operation.outcome}`, x, y, width, height: CLIENT_LANE_PX - 6 }, tooltip);
}

const DEFS = `<defs>${['append', 'append-resp', 'heartbeat', 'vote', 'snapshot', 'forward', 'other']
  .map((kind) => `<marker id="head-${kind}" class="head-${kind}" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="5" markerHeight="5" orient="auto"><path d="M0,0 L6,3 L0,6 z"/></marker>`)
  .join('')}<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f3d6d6"/><line x1="0" y1="0" x2="0" y2="6" stroke="#b33" stroke-width="2"/></pattern><pattern id="pause-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="6" height="6" fill="#dbe7fb"/><line x1="0" y1="0" x2="0" y2="6" stroke="#6f8fd6" stroke-width="1.5"/></pattern></defs>`;

const LEGEND = `<p class="legend"><span class="key role-follower">F follower</span><span class="key role-preCandidate">pre-candidate</span><span class="key role-candidate">C candidate</span><span class="key role-leader">leader</span><span class="key role-down">down (crashed)</span><span class="key fault-pause">paused</span><span class="key fault-partition">partition</span><span class="key fault-clog">clogged link</span> messages: <span class="m append">append</span><span class="m append-resp">append response</span><span class="m heartbeat">heartbeat</span><span class="m vote">(pre)vote</span><span class="m snapshot">snapshot</span><span class="m forward">forward</span><span class="m lost">lost</span> clients: <span class="key op-ok">ok</span><span class="key op-unknown">unknown</span><span class="key op-pending">pending</span> ✕ crash · ! I/O error · ◆ snapshot · ⇄ transfer</p>`;

const STYLE = `
body { font: 13px system-ui, sans-serif; margin: 16px; color: #222; background: #fff; }
h1 { font-size: 18px; margin: 0 0 6px; } h2 { font-size: 14px; margin: 14px 0 4px; } .hint { font-weight: normal; color: #777; }
p { margin: 3px 0; } .summary { font-family: ui-monospace, monospace; font-size: 12px; } .note { color: #666; }
.violation { color: #b00; font-size: 14px; } .ok { color: #070; } pre.detail { background: #fff4f4; border: 1px solid #e8b4b4; padding: 6px; max-height: 8em; overflow: auto; white-space: pre-wrap; font-size: 11px; }
#overview, .frame { border: 1px solid #ccc; background: #fcfcfc; } #overview, #detail { overflow-x: auto; }
.frame { display: flex; } .frame .labels { flex: none; border-right: 1px solid #ddd; background: #f4f4f4; } #detail { flex: 1; }
#overview svg { cursor: pointer; }
.legend { font-size: 12px; line-height: 22px; } .key, .m { display: inline-block; padding: 0 6px; margin-right: 6px; border-radius: 3px; }
.m { border-bottom: 2px solid; }
text { font: 11px system-ui, sans-serif; } .axis { fill: #666; font-size: 10px; } .lane { font-weight: bold; font-size: 13px; } .client-lane { fill: #555; font-size: 10px; }
.tick { stroke: #e6e6e6; } .lane-line { stroke: #ddd; }
.role { stroke: #fff; stroke-width: 0.5; }
.role-follower { fill: #cfd6de; background: #cfd6de; } .role-preCandidate { fill: #f6e3a1; background: #f6e3a1; } .role-candidate { fill: #f0a94b; background: #f0a94b; }
.role-leader { fill: #3aa55d; background: #3aa55d; color: #fff; } .role-down { fill: url(#hatch); background: #f3d6d6; } .role-label { fill: #222; font-size: 10px; pointer-events: none; }
.role-leader + .role-label { fill: #fff; }
.fault-partition { fill: #ff9d2e; fill-opacity: 0.13; stroke: #e08a20; stroke-dasharray: 4 3; background: #ffe6c7; }
.fault-clog { fill: #9b59b6; fill-opacity: 0.18; background: #e8d5f0; } .fault-pause { fill: url(#pause-hatch); fill-opacity: 0.8; background: #dbe7fb; }
.fault-label { fill: #a05a00; font-size: 10px; }
.side { fill-opacity: 0.9; } .side-0 { fill: #1f77b4; } .side-1 { fill: #d62728; } .side-2 { fill: #2ca02c; } .side-3 { fill: #9467bd; } .side-4 { fill: #8c564b; } .side-5 { fill: #e377c2; }
.msg { stroke-width: 1; fill: none; } .msg:hover { stroke-width: 3; }
.append { stroke: #1f5fbf; color: #1f5fbf; } .append-resp { stroke: #7fa8e6; color: #7fa8e6; } .heartbeat { stroke: #b9b9b9; color: #999; }
.vote { stroke: #e07b00; color: #e07b00; } .snapshot { stroke: #8e44ad; color: #8e44ad; } .forward { stroke: #0f9d8a; color: #0f9d8a; } .other { stroke: #8a6d3b; color: #8a6d3b; }
.lost { stroke: #d00; stroke-dasharray: 2 2; color: #d00; }
.head-append { fill: #1f5fbf; } .head-append-resp { fill: #7fa8e6; } .head-heartbeat { fill: #b9b9b9; } .head-vote { fill: #e07b00; } .head-snapshot { fill: #8e44ad; } .head-forward { fill: #0f9d8a; } .head-other { fill: #8a6d3b; }
.marker { font-size: 13px; font-weight: bold; } .marker-crash { fill: #c00; } .marker-ioError { fill: #c00; } .marker-fault { fill: #a05a00; } .marker-snapshot { fill: #8e44ad; font-size: 10px; } .marker-transfer { fill: #0f6d9d; }
.marker-line { stroke: #2a8a2a; stroke-dasharray: 6 3; stroke-width: 1.5; } .marker-label { fill: #2a8a2a; font-size: 10px; }
.op { stroke: #fff; stroke-width: 0.5; } .op-ok { fill: #5cb85c; background: #5cb85c; } .op-unknown { fill: #f0ad4e; background: #f0ad4e; } .op-pending { fill: #bbb; background: #bbb; }
.violation { stroke: #e00; stroke-width: 2.5; } .violation-label { fill: #e00; font-weight: bold; font-size: 12px; }
`;

const SCRIPT = `
(function () {
  var detail = document.getElementById('detail');
  var pxPerMs = Number(detail.dataset.pxPerMs);
  detail.scrollLeft = Number(detail.dataset.startMs) * pxPerMs;
  document.querySelector('#overview svg').addEventListener('click', function (event) {
    var box = event.currentTarget.getBoundingClientRect();
    var ms = (event.clientX - box.left - LEFT_PX) / OVERVIEW_PX_PER_MS;
    detail.scrollLeft = Math.max(0, ms * pxPerMs - detail.clientWidth / 2);
  });
})();
`;
