/**
 * A person's actions as one short text for the page's address, so a link
 * carries them: `120.crash.n2,388.write.n1.w1,400.cut.n1.n3`, each an
 * action and the world turn it was taken at (see user-actions.ts).
 */
import { InvalidArgumentError } from '../../src/errors.js';
import type { TimedAction, UserAction } from './user-actions.js';

const NODE_ACTIONS = ['crash', 'restart', 'pause', 'resume', 'isolate', 'remove'] as const;
const NODE_ID = /^n\d{1,3}$/;
const VALUE = /^[A-Za-z0-9_-]{1,64}$/;

/** The actions as text, in turn order. */
export function encodeActions(actions: readonly TimedAction[]): string {
  return actions.map(({ atTurn, action }) => [String(atTurn), ...actionWords(action)].join('.')).join(',');
}

function actionWords(action: UserAction): string[] {
  switch (action.kind) {
    case 'cut':
      return ['cut', action.from, action.to];
    case 'heal':
    case 'add':
      return [action.kind];
    case 'write':
      return ['write', action.node, action.value];
    case 'transfer':
      return ['transfer', action.target];
    default:
      return [action.kind, action.node];
  }
}

/** Parses {@link encodeActions}' text; throws `InvalidArgumentError` naming the first bad action. */
export function decodeActions(text: string): TimedAction[] {
  if (text.trim() === '') return [];
  let previousTurn = 0;
  return text.split(',').map((part, position) => {
    const words = part.trim().split('.');
    const where = `action ${position + 1} ('${part}')`;
    const atTurn = Number(words[0]);
    if (!/^\d+$/.test(words[0] ?? '') || !Number.isSafeInteger(atTurn)) throw new InvalidArgumentError(`${where}: it must start with a turn number`);
    if (atTurn < previousTurn) throw new InvalidArgumentError(`${where}: actions must be in turn order`);
    previousTurn = atTurn;
    return { atTurn, action: decodeAction(words.slice(1), where) };
  });
}

function decodeAction(words: readonly string[], where: string): UserAction {
  const [kind, ...args] = words;
  const nodes = (count: number): string[] => {
    if (args.length !== count || !args.every((arg) => NODE_ID.test(arg))) throw new InvalidArgumentError(`${where}: ${kind} takes ${count} node id${count === 1 ? '' : 's'}`);
    return args as string[];
  };
  if ((NODE_ACTIONS as readonly string[]).includes(kind ?? '')) return { kind: kind as (typeof NODE_ACTIONS)[number], node: nodes(1)[0]! };
  switch (kind) {
    case 'cut': {
      const [from, to] = nodes(2);
      return { kind, from: from!, to: to! };
    }
    case 'heal':
    case 'add':
      nodes(0);
      return { kind };
    case 'transfer':
      return { kind, target: nodes(1)[0]! };
    case 'write': {
      const [node, value] = args;
      if (args.length !== 2 || !NODE_ID.test(node ?? '') || !VALUE.test(value ?? '')) throw new InvalidArgumentError(`${where}: write takes a node id and a value of letters and digits`);
      return { kind, node: node!, value: value! };
    }
    default:
      throw new InvalidArgumentError(`${where}: unknown action '${String(kind)}'`);
  }
}
