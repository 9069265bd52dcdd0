import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../src/node/events.js';

interface TestEvents {
  tick: [n: number];
  done: [];
}

describe('TypedEmitter (Node EventEmitter semantics without node:events)', () => {
  it('calls listeners synchronously, in the order they were added, with the arguments', () => {
    const emitter = new TypedEmitter<TestEvents>();
    const seen: string[] = [];
    emitter.on('tick', (n) => seen.push(`a${n}`)).on('tick', (n) => seen.push(`b${n}`));
    emitter.emit('tick', 1);
    emitter.emit('tick', 2);
    expect(seen).toEqual(['a1', 'b1', 'a2', 'b2']);
  });

  it('calls a once listener on the next emit only, and reports whether anyone listens', () => {
    const emitter = new TypedEmitter<TestEvents>();
    let calls = 0;
    emitter.once('done', () => calls++);
    expect(emitter.listening('done')).toBe(true);
    emitter.emit('done');
    emitter.emit('done');
    expect(calls).toBe(1);
    expect(emitter.listening('done')).toBe(false);
  });

  it('off removes the most recent registration, a once registration too', () => {
    const emitter = new TypedEmitter<TestEvents>();
    const seen: number[] = [];
    const listener = (n: number): void => void seen.push(n);
    emitter.on('tick', listener).on('tick', listener);
    emitter.off('tick', listener);
    emitter.emit('tick', 1);
    expect(seen).toEqual([1]);
    emitter.off('tick', listener);
    emitter.once('tick', listener);
    emitter.off('tick', listener);
    emitter.emit('tick', 2);
    expect(seen).toEqual([1]);
    expect(emitter.listening('tick')).toBe(false);
  });

  it('an emit runs the listeners registered when it began, whatever they add or remove', () => {
    const emitter = new TypedEmitter<TestEvents>();
    const seen: string[] = [];
    const second = (): void => void seen.push('second');
    emitter.on('tick', () => {
      seen.push('first');
      emitter.off('tick', second);
      emitter.on('tick', () => seen.push('late'));
    });
    emitter.on('tick', second);
    emitter.emit('tick', 0);
    expect(seen).toEqual(['first', 'second']);
    emitter.emit('tick', 0);
    expect(seen).toEqual(['first', 'second', 'first', 'late']);
  });
});
