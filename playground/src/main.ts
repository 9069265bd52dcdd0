/**
 * The playground page: wires the controls, the keyboard and the address to
 * the {@link Controller}, and draws the run every animation frame.
 */
import { PLANTED_BUG_NAMES } from '../../sim/runtime/planted-bugs.js';
import { encodeScenario } from '../../sim/runtime/scenario-codec.js';
import type { NodeId } from '../../src/core/types.js';
import { Controller } from './controller.js';
import { nodeViews, stateDigest } from './node-model.js';
import { checkSpec, commandOf, parseBug, parsePasted, parseSeed, seedSpec, specOfQuery } from './run-spec.js';
import type { RunSpec } from './run-spec.js';
import { decodeActions, encodeActions } from './action-codec.js';
import type { Goal, Session } from './session.js';
import { describeAction } from './user-actions.js';
import type { TimedAction, UserAction } from './user-actions.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { drawLegend, drawRing, NodeCards } from './view.js';
import type { NodeHandlers } from './view.js';
import { describeVerdict } from './verdict.js';

const element = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`playground: no #${id} in the page`);
  return found as T;
};

let dirty = true;
let selected: NodeId | null = null;
const controller = new Controller(() => (dirty = true));
const nodeActions: NodeHandlers = {
  toggleCrash: (id) => act((view) => (view.state === 'down' ? { kind: 'restart', node: id } : { kind: 'crash', node: id }), id),
  togglePause: (id) => act((view) => (view.state === 'paused' ? { kind: 'resume', node: id } : { kind: 'pause', node: id }), id),
  isolate: (id) => act(() => ({ kind: 'isolate', node: id }), id),
  write: (id) => act(() => ({ kind: 'write', node: id, value: `w${writeCount() + 1}` }), id),
  transfer: (id) => act(() => ({ kind: 'transfer', target: id }), id),
  remove: (id) => act(() => ({ kind: 'remove', node: id }), id),
  select: (id) => {
    selected = id;
    dirty = true;
  },
};
const cards = new NodeCards(element('nodes'), nodeActions);

function writeCount(): number {
  return controller.session?.applier?.writes.length ?? 0;
}

/** Takes an action on node `id`, chosen from its current view; shows why not when the run cannot take it. */
function act(choose: (view: ReturnType<typeof nodeViews>[number]) => UserAction, id: NodeId): void {
  const world = controller.session?.world;
  const view = world === null || world === undefined ? undefined : nodeViews(world).find((candidate) => candidate.id === id);
  if (view === undefined) return;
  actNow(choose(view));
}

function actNow(action: UserAction): void {
  try {
    controller.act(action);
    showError(null);
  } catch (error) {
    showError(`cannot ${describeAction(action)}: ${(error as Error).message}`);
  }
}

function showError(message: string | null): void {
  const box = element('error');
  box.hidden = message === null;
  box.textContent = message ?? '';
}

/** Loads `spec` with `actions`, run to `goal` (or says inline why not, keeping the run shown). */
function loadSpec(spec: RunSpec, actions: readonly TimedAction[] = [], goal: Goal = { kind: 'turns', turns: 0 }): boolean {
  try {
    controller.load(spec, actions, goal);
  } catch (error) {
    showError((error as Error).message);
    return false;
  }
  showError(null);
  fillInputs(spec);
  return true;
}

/**
 * Keeps the address in step with the run shown, so that it can be copied as
 * a link: the spec, the person's actions, and the world turn it stands at.
 */
function syncAddress(session: Session): void {
  const query = new URLSearchParams({ seed: String(session.spec.seed) });
  const command = commandOf(session.spec);
  if (command !== commandOf(seedSpec(session.spec.seed))) query.set('scenario', command);
  if (session.actions.length > 0) query.set('actions', encodeActions(session.actions));
  if (session.settled && !session.ended && !controller.playing && session.turns > 0) query.set('turn', String(session.turns));
  const search = `?${query.toString()}`;
  if (location.search !== search) history.replaceState(null, '', search);
}

function fillInputs(spec: RunSpec): void {
  element<HTMLInputElement>('seed').value = String(spec.seed);
  element<HTMLSelectElement>('bug').value = spec.plantedBug ?? '';
  element<HTMLTextAreaElement>('scenario').value = encodeScenario(checkSpec(spec));
  element('command').textContent = commandOf(spec);
}

function currentSpec(): RunSpec {
  return controller.session?.spec ?? seedSpec(1);
}

function wireForms(): void {
  const bug = element<HTMLSelectElement>('bug');
  for (const name of PLANTED_BUG_NAMES) bug.add(new Option(name, name));
  element('seed-form').addEventListener('submit', (event) => {
    event.preventDefault();
    try {
      const seed = parseSeed(element<HTMLInputElement>('seed').value);
      const bugName = bug.value === '' ? undefined : parseBug(bug.value);
      loadSpec({ ...currentSpec(), seed, plantedBug: bugName, scenario: undefined });
    } catch (error) {
      showError((error as Error).message);
    }
  });
  element('scenario-form').addEventListener('submit', (event) => {
    event.preventDefault();
    try {
      loadSpec(parsePasted(element<HTMLTextAreaElement>('scenario').value, currentSpec()));
    } catch (error) {
      showError((error as Error).message);
    }
  });
}

function wireTime(): void {
  element('play').addEventListener('click', () => controller.togglePlay());
  element('step').addEventListener('click', () => controller.step());
  element('back').addEventListener('click', () => back());
  element('to-end').addEventListener('click', () => controller.runToEnd());
  element<HTMLSelectElement>('speed').addEventListener('change', (event) => (controller.speed = Number((event.target as HTMLSelectElement).value)));
  element<HTMLInputElement>('scrub').addEventListener('change', (event) => controller.seek(Number((event.target as HTMLInputElement).value)));
  element('heal').addEventListener('click', () => actNow({ kind: 'heal' }));
  element('add-member').addEventListener('click', () => actNow({ kind: 'add' }));
  element('cut').addEventListener('click', () => {
    const from = element<HTMLSelectElement>('cut-from').value;
    const to = element<HTMLSelectElement>('cut-to').value;
    if (from === to) showError('a link joins two different nodes');
    else actNow({ kind: 'cut', from, to });
  });
  element('undo').addEventListener('click', () => controller.undo());
}

function back(): void {
  controller.seek(Math.max(0, (controller.session?.nowMs ?? 0) - 50));
}

/** Keys act on the selected node; typing into a field is left alone. */
function onKey(event: KeyboardEvent): void {
  const target = event.target as HTMLElement;
  if (['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName) || event.ctrlKey || event.metaKey || event.altKey) return;
  const ids = controller.session?.world?.ids() ?? [];
  const handlers: Record<string, () => void> = {
    ' ': () => controller.togglePlay(),
    ArrowRight: () => controller.step(),
    ArrowLeft: () => back(),
    End: () => controller.runToEnd(),
    h: () => actNow({ kind: 'heal' }),
  };
  const node = selected;
  if (node !== null) {
    handlers['c'] = () => nodeActions.toggleCrash(node);
    handlers['p'] = () => nodeActions.togglePause(node);
    handlers['i'] = () => nodeActions.isolate(node);
    handlers['w'] = () => nodeActions.write(node);
    handlers['t'] = () => nodeActions.transfer(node);
  }
  if (/^[1-9]$/.test(event.key) && ids[Number(event.key) - 1] !== undefined) handlers[event.key] = () => (selected = ids[Number(event.key) - 1]!);
  const handler = handlers[event.key];
  if (handler === undefined) return;
  event.preventDefault();
  handler();
  dirty = true;
}

let lastFrameMs = performance.now();
function frame(nowMs: number): void {
  controller.frame(nowMs - lastFrameMs);
  lastFrameMs = nowMs;
  if (dirty || controller.playing) draw();
  requestAnimationFrame(frame);
}

function draw(): void {
  dirty = false;
  const session = controller.session;
  const world = session?.world;
  if (session === null || world === null || world === undefined) return;
  const views = nodeViews(world);
  const nowMs = world.now();
  const cuts = world.network.currentCuts();
  const cut = new Set(cuts.map((link) => `${link.from}>${link.to}`));
  const down = new Set(views.filter((view) => view.state === 'down').map((view) => view.id));
  const flights = session.flights.current(nowMs, (from, to) => cut.has(`${from}>${to}`) || down.has(to));
  drawRing(element('ring') as unknown as SVGSVGElement, views, flights, cuts, nowMs, selected);
  cards.draw(views, !session.ended, selected);
  drawLegend(element('legend'), session.flights.lost);
  element('time').textContent = nowMs.toFixed(1);
  element('events').textContent = String(world.events);
  element('leader').textContent = world.leader()?.id ?? 'none';
  element('play').textContent = controller.playing ? 'Pause' : 'Play';
  const verdict = describeVerdict(session);
  element('verdict').textContent = verdict.text;
  element('trace-hash').textContent = session.report?.traceHash ?? '';
  const violation = element('violation');
  violation.hidden = verdict.violation === null;
  violation.textContent = verdict.violation ?? '';
  const scrub = element<HTMLInputElement>('scrub');
  scrub.max = String(Math.ceil(Math.max(session.spec.durationMs, controller.furthestMs, nowMs)));
  if (document.activeElement !== scrub) scrub.value = String(Math.round(nowMs));
  drawMarkers(verdict.atMs, Number(scrub.max));
  drawSelects(world.ids());
  element('actions').replaceChildren(...session.actions.map((timed) => listItem(`turn ${timed.atTurn}: ${describeAction(timed.action)}`)));
  element('writes').replaceChildren(...(session.applier?.writes ?? []).map((write) => listItem(`${write.value} on ${write.node}: ${write.status} (${write.detail})`)));
  element('trace').textContent = session.trace.slice(-120).reverse().join('\n');
  syncAddress(session);
  element('state').textContent = stateDigest(world);
  element('state').dataset['settled'] = String(session.settled && !controller.playing);
}

function drawMarkers(atMs: number | null, maxMs: number): void {
  const markers = element('markers');
  if (atMs === null) return markers.replaceChildren();
  const marker = document.createElement('span');
  marker.className = 'marker';
  marker.title = `violation at ${atMs.toFixed(1)} ms`;
  marker.style.left = `${(100 * atMs) / Math.max(maxMs, 1)}%`;
  markers.replaceChildren(marker);
}

function drawSelects(ids: readonly NodeId[]): void {
  for (const id of ['cut-from', 'cut-to']) {
    const select = element<HTMLSelectElement>(id);
    if (select.options.length === ids.length) continue;
    const value = select.value;
    select.replaceChildren(...ids.map((node) => new Option(node, node)));
    if (ids.includes(value)) select.value = value;
    else if (id === 'cut-to' && ids.length > 1) select.value = ids[1]!;
  }
}

function listItem(text: string): HTMLLIElement {
  const item = document.createElement('li');
  item.textContent = text;
  return item;
}

/** What the address asks for: a spec, actions, and where to go (`&run=full`: the end; `&turn=N`: that world turn). */
function fromAddress(query: URLSearchParams): { spec: RunSpec; actions: TimedAction[]; goal: Goal } {
  const spec = specOfQuery(query) ?? seedSpec(1);
  const actions = decodeActions(query.get('actions') ?? '');
  if (query.get('run') === 'full') return { spec, actions, goal: { kind: 'end' } };
  const turn = query.get('turn');
  if (turn === null) return { spec, actions, goal: { kind: 'turns', turns: 0 } };
  if (!/^\d{1,9}$/.test(turn)) throw new InvalidArgumentError(`turn must be a whole number of world turns, got '${turn}'`);
  return { spec, actions, goal: { kind: 'turns', turns: Number(turn) } };
}

function start(): void {
  wireForms();
  wireTime();
  document.addEventListener('keydown', onKey);
  try {
    const { spec, actions, goal } = fromAddress(new URLSearchParams(location.search));
    controller.load(spec, actions, goal);
    fillInputs(spec);
  } catch (error) {
    // A bad address still opens the page, on the default seed, and says what was wrong.
    loadSpec(seedSpec(1));
    showError(`the address: ${(error as Error).message}`);
  }
  requestAnimationFrame(frame);
}

start();
