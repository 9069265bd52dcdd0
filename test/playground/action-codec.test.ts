import { describe, expect, it } from 'vitest';
import { decodeActions, encodeActions } from '../../playground/src/action-codec.js';
import type { TimedAction } from '../../playground/src/user-actions.js';

describe('the playground\'s actions in its address', () => {
  it('encodes every kind of action with its turn, and decodes it back', () => {
    const actions: TimedAction[] = [
      { atTurn: 0, action: { kind: 'pause', node: 'n1' } },
      { atTurn: 12, action: { kind: 'crash', node: 'n2' } },
      { atTurn: 12, action: { kind: 'write', node: 'n3', value: 'w1' } },
      { atTurn: 40, action: { kind: 'cut', from: 'n1', to: 'n3' } },
      { atTurn: 41, action: { kind: 'heal' } },
      { atTurn: 50, action: { kind: 'transfer', target: 'n2' } },
      { atTurn: 60, action: { kind: 'add' } },
      { atTurn: 70, action: { kind: 'remove', node: 'n6' } },
      { atTurn: 80, action: { kind: 'restart', node: 'n2' } },
      { atTurn: 90, action: { kind: 'resume', node: 'n1' } },
      { atTurn: 95, action: { kind: 'isolate', node: 'n4' } },
    ];
    const text = encodeActions(actions);
    expect(text).toBe('0.pause.n1,12.crash.n2,12.write.n3.w1,40.cut.n1.n3,41.heal,50.transfer.n2,60.add,70.remove.n6,80.restart.n2,90.resume.n1,95.isolate.n4');
    expect(decodeActions(text)).toEqual(actions);
    expect(decodeActions('')).toEqual([]);
  });

  it.each([
    ['x.crash.n1', 'action 1 (\'x.crash.n1\'): it must start with a turn number'],
    ['5.crash.n1,3.crash.n2', 'action 2 (\'3.crash.n2\'): actions must be in turn order'],
    ['5.explode.n1', "unknown action 'explode'"],
    ['5.crash', 'crash takes 1 node id'],
    ['5.cut.n1', 'cut takes 2 node ids'],
    ['5.heal.n1', 'heal takes 0 node ids'],
    ['5.write.n1.a b', 'write takes a node id and a value'],
    ['5.crash.<script>', 'crash takes 1 node id'],
  ])('refuses %j', (text, message) => {
    expect(() => decodeActions(text)).toThrow(message);
  });
});
