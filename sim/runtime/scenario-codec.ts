/**
 * A scenario as one line of text, for the command line (`keel sim --seed N
 * --schedule '…'`): short enough to paste, readable enough to edit by hand,
 * and exact, since numbers are written with JavaScript's shortest
 * round-tripping form.
 *
 * ```
 * nodes 3 clients 2; at 812.5 crash n2 down 540 during-write; at 1200 partition split n1,n3,n2 for 900
 * ```
 *
 * Faults: `crash NODE down MS [during-write]`, `ioError NODE down MS`,
 * `pause NODE for MS`, `partition SHAPE NODE,NODE,… for MS`,
 * `clog NODE NODE for MS`, `transfer NODE`, `churn add|remove|replace NODE [leader]`
 * (with `leader`, a remove or replace acts on whichever node leads then).
 */
import { InvalidArgumentError } from '../../src/errors.js';
import { CHURN_OPS } from '../world/faults.js';
import type { ChurnOp, FaultAction, ScheduledFault } from '../world/faults.js';
import { PARTITION_SHAPES } from '../world/partitions.js';
import type { PartitionShape } from '../world/partitions.js';
import type { Scenario } from '../world/scenario.js';

/** The scenario as one line. */
export function encodeScenario(scenario: Scenario): string {
  const parts = [`nodes ${scenario.nodes} clients ${scenario.clients}`];
  for (const fault of scenario.faults) parts.push(`at ${String(fault.atMs)} ${encodeAction(fault.action)}`);
  return parts.join('; ');
}

function encodeAction(action: FaultAction): string {
  switch (action.kind) {
    case 'crash':
      return `crash ${action.node} down ${String(action.downMs)}${action.duringWrite ? ' during-write' : ''}`;
    case 'ioError':
      return `ioError ${action.node} down ${String(action.downMs)}`;
    case 'pause':
      return `pause ${action.node} for ${String(action.durationMs)}`;
    case 'partition':
      return `partition ${action.shape} ${action.order.join(',')} for ${String(action.durationMs)}`;
    case 'clog':
      return `clog ${action.a} ${action.b} for ${String(action.durationMs)}`;
    case 'transfer':
      return `transfer ${action.target}`;
    case 'churn':
      return `churn ${action.op} ${action.node}${action.leader ? ' leader' : ''}`;
  }
}

/** Parses {@link encodeScenario}'s format; throws `InvalidArgumentError` saying where it went wrong. */
export function decodeScenario(text: string): Scenario {
  const [header, ...faultTexts] = text.split(';').map((part) => part.trim());
  const head = new Tokens(header ?? '', 'the header');
  head.expect('nodes');
  const nodes = head.integer();
  head.expect('clients');
  const clients = head.integer();
  head.end();
  const faults = faultTexts.filter((part) => part.length > 0).map((part, position) => decodeFault(new Tokens(part, `fault ${position + 1}`)));
  return { nodes, clients, faults };
}

function decodeFault(tokens: Tokens): ScheduledFault {
  tokens.expect('at');
  const atMs = tokens.number();
  const kind = tokens.word();
  let action: FaultAction;
  switch (kind) {
    case 'crash': {
      const node = tokens.word();
      tokens.expect('down');
      const downMs = tokens.number();
      const duringWrite = tokens.optional('during-write');
      action = { kind, node, downMs, duringWrite };
      break;
    }
    case 'ioError': {
      const node = tokens.word();
      tokens.expect('down');
      action = { kind, node, downMs: tokens.number() };
      break;
    }
    case 'pause': {
      const node = tokens.word();
      tokens.expect('for');
      action = { kind, node, durationMs: tokens.number() };
      break;
    }
    case 'partition': {
      const shape = tokens.word();
      if (!(PARTITION_SHAPES as readonly string[]).includes(shape)) tokens.fail(`unknown partition shape '${shape}' (${PARTITION_SHAPES.join(', ')})`);
      const order = tokens.word().split(',');
      tokens.expect('for');
      action = { kind, shape: shape as PartitionShape, order, durationMs: tokens.number() };
      break;
    }
    case 'clog': {
      const a = tokens.word();
      const b = tokens.word();
      tokens.expect('for');
      action = { kind, a, b, durationMs: tokens.number() };
      break;
    }
    case 'transfer':
      action = { kind, target: tokens.word() };
      break;
    case 'churn': {
      const op = tokens.word();
      if (!(CHURN_OPS as readonly string[]).includes(op)) tokens.fail(`unknown churn operation '${op}' (${CHURN_OPS.join(', ')})`);
      const node = tokens.word();
      action = { kind, op: op as ChurnOp, node, leader: tokens.optional('leader') };
      break;
    }
    default:
      return tokens.fail(`unknown fault '${kind}' (crash, ioError, pause, partition, clog, transfer, churn)`);
  }
  tokens.end();
  return { atMs, action };
}

/** The whitespace-separated words of one part, read left to right. */
class Tokens {
  private readonly words: string[];
  private next = 0;

  constructor(
    private readonly text: string,
    private readonly where: string,
  ) {
    this.words = text.split(/\s+/).filter((word) => word.length > 0);
  }

  word(): string {
    const word = this.words[this.next];
    if (word === undefined) return this.fail('ends too early');
    this.next++;
    return word;
  }

  expect(word: string): void {
    const got = this.words[this.next];
    if (got !== word) this.fail(`expected '${word}', got ${got === undefined ? 'the end' : `'${got}'`}`);
    this.next++;
  }

  optional(word: string): boolean {
    if (this.words[this.next] !== word) return false;
    this.next++;
    return true;
  }

  number(): number {
    const word = this.word();
    const value = Number(word);
    if (word.trim() === '' || !Number.isFinite(value)) this.fail(`'${word}' is not a number`);
    return value;
  }

  integer(): number {
    const value = this.number();
    if (!Number.isSafeInteger(value)) this.fail(`${value} is not an integer`);
    return value;
  }

  end(): void {
    if (this.next < this.words.length) this.fail(`unexpected '${this.words[this.next]}'`);
  }

  fail(problem: string): never {
    throw new InvalidArgumentError(`schedule, ${this.where} ('${this.text}'): ${problem}`);
  }
}
