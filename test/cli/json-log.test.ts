/** The command line's JSON logs through pino: one object per line, level names, ISO times, base fields, errors with their code. */
import { describe, expect, it } from 'vitest';
import { isLogLevel, jsonLogger, logRecord } from '../../cli/json-log.js';
import { StorageIOError } from '../../src/errors.js';

function capture(): { lines: () => Record<string, unknown>[]; stream: { write(line: string): void } } {
  const written: string[] = [];
  return { lines: () => written.join('').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>), stream: { write: (line) => void written.push(line) } };
}

describe('jsonLogger', () => {
  it('writes one JSON object per record with the level name, an ISO time, the message and the base fields', () => {
    const { lines, stream } = capture();
    const log = jsonLogger('info', { node: 'n1' }, stream);
    log.info({ term: 3 }, 'role changed');
    log.warn('plain');
    const [first, second] = lines() as [Record<string, unknown>, Record<string, unknown>];
    expect(first).toMatchObject({ level: 'info', node: 'n1', term: 3, msg: 'role changed' });
    expect(new Date(first['time'] as string).toISOString()).toBe(first['time']);
    expect(second).toMatchObject({ level: 'warn', node: 'n1', msg: 'plain' });
  });

  it('drops records below the minimum level', () => {
    const { lines, stream } = capture();
    const log = jsonLogger('warn', {}, stream);
    log.debug('no');
    log.info('no');
    log.error('yes');
    expect(lines().map((line) => line['msg'])).toEqual(['yes']);
  });

  it('logs a transport record at its level, its error under err with type, message and code', () => {
    const { lines, stream } = capture();
    const log = jsonLogger('debug', {}, stream);
    logRecord(log, { level: 'warn', message: 'refused', error: new StorageIOError('disk gone') });
    const [line] = lines() as [Record<string, unknown>];
    expect(line).toMatchObject({ level: 'warn', msg: 'refused', err: { type: 'StorageIOError', code: 'KEEL_STORAGE_IO' } });
    expect((line['err'] as { message: string }).message).toContain('disk gone');
  });

  it('knows the level names', () => {
    expect(['debug', 'info', 'warn', 'error'].every(isLogLevel)).toBe(true);
    expect(isLogLevel('trace')).toBe(false);
  });
});
