/**
 * The simulator's replicated key-value store: string keys and values, with
 * get, put, delete, append and compare-and-set, the operations of the
 * linearizability checker's model (`sim/checker/kv-model.ts`). Deterministic,
 * snapshot-able, and small enough to read in one sitting: it is also the
 * template for plugging a user's own state machine into the simulator.
 */
import type { AppliedCommand, StateMachine } from '../../src/node/state-machine.js';
import type { CasResult } from '../history.js';

/** A command of the store, as proposed through `RaftNode.propose`. */
export type KvCommand =
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'put'; readonly key: string; readonly value: string }
  | { readonly op: 'delete'; readonly key: string }
  | { readonly op: 'append'; readonly key: string; readonly value: string }
  | { readonly op: 'cas'; readonly key: string; readonly expect: string | null; readonly value: string };

/** What `apply` answers: a get's value (null: absent), a cas's {@link CasResult}, null for writes. */
export type KvResult = string | null | CasResult;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a command for `propose`. */
export function encodeKvCommand(command: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/** Decodes a command; throws on anything that is not one, which stops the node (a committed entry it cannot apply). */
export function decodeKvCommand(bytes: Uint8Array): KvCommand {
  const value = JSON.parse(decoder.decode(bytes)) as unknown;
  if (typeof value !== 'object' || value === null || typeof (value as { key?: unknown }).key !== 'string') {
    throw new TypeError(`not a key-value command: ${decoder.decode(bytes).slice(0, 80)}`);
  }
  return value as KvCommand;
}

/** The replicated key-value store. */
export class KvStateMachine implements StateMachine<KvResult> {
  private data = new Map<string, string>();
  /** Index of the last command applied (0 after a restore: the runtime tracks the real applied index). */
  lastAppliedIndex = 0;

  apply(applied: AppliedCommand): KvResult {
    const command = decodeKvCommand(applied.command);
    this.lastAppliedIndex = applied.index;
    const current = this.data.get(command.key) ?? null;
    switch (command.op) {
      case 'get':
        return current;
      case 'put':
        this.data.set(command.key, command.value);
        return null;
      case 'delete':
        this.data.delete(command.key);
        return null;
      case 'append':
        this.data.set(command.key, (current ?? '') + command.value);
        return null;
      case 'cas':
        if (current !== command.expect) return { status: 'mismatch', actual: current };
        this.data.set(command.key, command.value);
        return { status: 'swapped' };
    }
  }

  /** The local value of `key`: linearizable right after `RaftNode.read()` resolves on this node. */
  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  async *snapshot(): AsyncIterable<Uint8Array> {
    yield encoder.encode(this.canonical());
  }

  async restore(chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const parts: Uint8Array[] = [];
    for await (const chunk of chunks) parts.push(chunk);
    const entries = JSON.parse(decoder.decode(Buffer.concat(parts))) as [string, string][];
    this.data = new Map(entries);
  }

  /** The whole state in a canonical form (keys sorted): equal states give equal strings. */
  canonical(): string {
    return JSON.stringify([...this.data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** A short fingerprint of the state, for convergence checks. */
  digest(): string {
    const text = this.canonical();
    let hash = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    return (hash >>> 0).toString(16).padStart(8, '0');
  }
}
