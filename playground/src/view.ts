/**
 * Draws a frozen world: the ring of nodes with the messages in flight, and
 * one card per node with its state and its buttons. The cards are built once
 * per set of nodes and only their text changes from frame to frame, so a
 * button keeps its focus while the run plays.
 */
import type { NodeId } from '../../src/core/types.js';
import type { Link } from '../../sim/world/partitions.js';
import type { Flight } from './flight-log.js';
import { MESSAGE_KINDS } from './flight-log.js';
import type { NodeView } from './node-model.js';

const SVG = 'http://www.w3.org/2000/svg';
const RING_RADIUS = 165;
const NODE_RADIUS = 34;
/** World milliseconds a message takes to cross the ring in the drawing (the simulated latency is not known when it is sent). */
const DRAWN_FLIGHT_MS = 8;

/** What a node card's buttons do. */
export interface NodeHandlers {
  toggleCrash(id: NodeId): void;
  togglePause(id: NodeId): void;
  isolate(id: NodeId): void;
  write(id: NodeId): void;
  transfer(id: NodeId): void;
  remove(id: NodeId): void;
  select(id: NodeId): void;
}

/** Where node `at` of `count` sits on the ring. */
function position(at: number, count: number): { x: number; y: number } {
  const angle = -Math.PI / 2 + (2 * Math.PI * at) / Math.max(count, 1);
  return { x: RING_RADIUS * Math.cos(angle), y: RING_RADIUS * Math.sin(angle) };
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** Draws the ring: nodes coloured by role, cut links, messages as dots along their link (lost ones as red crosses). */
export function drawRing(root: SVGSVGElement, views: readonly NodeView[], flights: readonly Flight[], cuts: readonly Link[], nowMs: number, selected: NodeId | null): void {
  const ids = views.map((view) => view.id);
  const where = new Map(ids.map((id, at) => [id, position(at, ids.length)]));
  const children: SVGElement[] = [svg('circle', { class: 'ring', r: RING_RADIUS })];
  for (const cut of cuts) {
    const a = where.get(cut.from);
    const b = where.get(cut.to);
    if (a === undefined || b === undefined) continue;
    // One-way cuts are drawn on the sender's half of the link.
    children.push(svg('line', { class: 'cut', x1: a.x, y1: a.y, x2: (a.x + b.x) / 2, y2: (a.y + b.y) / 2 }));
  }
  for (const flight of flights) {
    const a = where.get(flight.from);
    const b = where.get(flight.to);
    if (a === undefined || b === undefined) continue;
    const progress = Math.min(1, ((flight.lostMs ?? nowMs) - flight.sentMs) / DRAWN_FLIGHT_MS) * 0.8 + 0.1;
    const x = a.x + (b.x - a.x) * progress;
    const y = a.y + (b.y - a.y) * progress;
    if (flight.lostMs !== null) {
      children.push(svg('path', { class: 'lost-mark', d: `M${x - 5},${y - 5}L${x + 5},${y + 5}M${x + 5},${y - 5}L${x - 5},${y + 5}` }));
    } else {
      children.push(svg('circle', { cx: x, cy: y, r: 4, class: `k-${flight.kind}` }));
    }
  }
  for (const view of views) {
    const at = where.get(view.id)!;
    const colour = view.state === 'down' ? 'r-down' : `r-${view.role}`;
    const group = svg('g', { 'data-node': view.id });
    group.append(svg('circle', { cx: at.x, cy: at.y, r: NODE_RADIUS + (view.id === selected ? 4 : 0), class: `node-circle ${colour}` }));
    group.append(svg('text', { class: 'label', x: at.x, y: at.y - 2 }, view.id));
    group.append(svg('text', { class: 'label', x: at.x, y: at.y + 13 }, view.state === 'down' ? 'down' : `t${view.term}`));
    const below = view.state === 'down' ? 'crashed' : `${roleName(view.role)}${view.state === 'paused' ? ' (paused)' : ''}`;
    group.append(svg('text', { class: 'sub', x: at.x, y: at.y + NODE_RADIUS + 14 }, below));
    children.push(group);
  }
  root.replaceChildren(...children);
}

function roleName(role: NodeView['role']): string {
  return role === 'preCandidate' ? 'pre-candidate' : role;
}

/** Fills the legend of message kinds with the counts lost so far. */
export function drawLegend(root: HTMLElement, lost: Readonly<Record<string, number>>): void {
  const items = MESSAGE_KINDS.map((kind) => `<span><i class="k-${kind}"></i>${kind}</span>`);
  const lostTotal = MESSAGE_KINDS.map((kind) => `${kind} ${lost[kind] ?? 0}`).join(', ');
  const text = `${items.join('')}<span><i class="k-lost"></i>lost: ${lostTotal}</span>`;
  if (root.dataset['text'] !== text) {
    root.dataset['text'] = text;
    root.innerHTML = text;
  }
}

/** The node cards, rebuilt only when the set of nodes changes. */
export class NodeCards {
  private ids = '';
  private readonly cards = new Map<NodeId, Record<string, HTMLElement>>();

  constructor(
    private readonly root: HTMLElement,
    private readonly handlers: NodeHandlers,
  ) {}

  /** Shows `views`; `canAct` says whether the buttons may be used (the run is under way). */
  draw(views: readonly NodeView[], canAct: boolean, selected: NodeId | null): void {
    const ids = views.map((view) => view.id).join(',');
    if (ids !== this.ids) this.rebuild(views);
    for (const view of views) this.update(this.cards.get(view.id)!, view, canAct, selected === view.id);
  }

  private rebuild(views: readonly NodeView[]): void {
    this.ids = views.map((view) => view.id).join(',');
    this.cards.clear();
    this.root.replaceChildren(...views.map((view) => this.card(view.id)));
  }

  private card(id: NodeId): HTMLElement {
    const card = document.createElement('article');
    card.className = 'node';
    card.dataset['testid'] = `node-${id}`;
    card.innerHTML = `<div class="head"><span>${id}</span><span data-part="role"></span></div>
      <div class="facts" data-part="facts"></div>
      <div class="timer" title="election timer"><div data-part="timer"></div></div>
      <div class="log" data-part="log" aria-label="log: index and term"></div>
      <div class="facts" data-part="value"></div>
      <div class="buttons">
        <button data-act="crash"></button><button data-act="pause"></button><button data-act="isolate">isolate</button>
        <button data-act="write">write</button><button data-act="transfer">lead</button><button data-act="remove">remove</button>
      </div>`;
    const parts: Record<string, HTMLElement> = { card };
    for (const element of card.querySelectorAll<HTMLElement>('[data-part],[data-act]')) parts[element.dataset['part'] ?? element.dataset['act']!] = element;
    const act: Record<string, (id: NodeId) => void> = {
      crash: (node) => this.handlers.toggleCrash(node),
      pause: (node) => this.handlers.togglePause(node),
      isolate: (node) => this.handlers.isolate(node),
      write: (node) => this.handlers.write(node),
      transfer: (node) => this.handlers.transfer(node),
      remove: (node) => this.handlers.remove(node),
    };
    for (const [name, run] of Object.entries(act)) {
      const button = parts[name]!;
      button.dataset['testid'] = `${name}-${id}`;
      button.addEventListener('click', () => run(id));
    }
    card.addEventListener('click', () => this.handlers.select(id));
    this.cards.set(id, parts);
    return card;
  }

  private update(parts: Record<string, HTMLElement>, view: NodeView, canAct: boolean, selected: boolean): void {
    parts['card']!.className = `node ${view.state === 'down' ? 'down' : view.role}${selected ? ' selected' : ''}`;
    parts['card']!.dataset['role'] = view.role;
    setText(parts['role']!, view.state === 'down' ? 'crashed' : `${roleName(view.role)}${view.state === 'paused' ? ', paused' : ''}${view.voter ? '' : ', not a voter'}`);
    setText(
      parts['facts']!,
      `term ${view.term} · vote ${view.vote ?? '–'} · leader ${view.leader ?? '–'}\n` +
        `last ${view.lastIndex} · commit ${view.commitIndex} · applied ${view.appliedIndex} · snapshot ${view.snapshotIndex}` +
        (view.state === 'down' ? ' (durable)' : `\nelection timer ${view.electionElapsedTicks}/${view.electionTimeoutTicks} ticks`),
    );
    parts['timer']!.style.width = `${view.electionTimeoutTicks === 0 ? 0 : Math.min(100, (100 * view.electionElapsedTicks) / view.electionTimeoutTicks)}%`;
    const log = view.entries.map((entry) => `${entry.index}:${entry.term}:${entry.index <= view.appliedIndex ? 'a' : entry.index <= view.commitIndex ? 'c' : 'u'}`).join(' ');
    if (parts['log']!.dataset['log'] !== log) {
      parts['log']!.dataset['log'] = log;
      parts['log']!.replaceChildren(...view.entries.map((entry) => logEntry(entry, view)));
    }
    setText(parts['value']!, `playground = ${view.value ?? '–'}`);
    parts['value']!.dataset['testid'] = `value-${view.id}`;
    setText(parts['crash']!, view.state === 'down' ? 'restart' : 'crash');
    setText(parts['pause']!, view.state === 'paused' ? 'resume' : 'pause');
    for (const name of ['crash', 'pause', 'isolate', 'write', 'transfer', 'remove']) {
      (parts[name] as HTMLButtonElement).disabled = !canAct || (name !== 'crash' && view.state === 'down');
    }
  }
}

function logEntry(entry: { index: number; term: number }, view: NodeView): HTMLElement {
  const element = document.createElement('span');
  const state = entry.index <= view.appliedIndex ? 'applied' : entry.index <= view.commitIndex ? 'committed' : 'uncommitted';
  element.className = `entry ${state}`;
  element.title = `index ${entry.index}, term ${entry.term}, ${state}`;
  element.textContent = String(entry.term);
  return element;
}

function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}
