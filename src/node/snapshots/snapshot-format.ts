import { CorruptionError } from '../../errors.js';

/**
 * A runtime snapshot is the session table followed by the user's state:
 * a 4-byte big-endian length, that many bytes of the encoded session table,
 * then the state machine's own chunks untouched. This is the part before the
 * user's chunks.
 */
export function snapshotPrefix(sessions: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + sessions.byteLength);
  new DataView(header.buffer).setUint32(0, sessions.byteLength);
  header.set(sessions, 4);
  return header;
}

/**
 * Splits a runtime snapshot stream: reads the session table, then hands the
 * rest of the stream (the user's chunks, re-cut only at the boundary) to `restoreUser`.
 */
export async function splitSnapshot(
  chunks: AsyncIterable<Uint8Array>,
  restoreSessions: (bytes: Uint8Array) => void,
  restoreUser: (rest: AsyncIterable<Uint8Array>) => Promise<void>,
): Promise<void> {
  const iterator = chunks[Symbol.asyncIterator]();
  let buffered: Uint8Array = new Uint8Array(0);
  const fill = async (bytes: number): Promise<void> => {
    while (buffered.byteLength < bytes) {
      const next = await iterator.next();
      if (next.done === true) throw new CorruptionError('snapshot', `stream ended inside the session header (${buffered.byteLength} of ${bytes} bytes)`);
      buffered = concat(buffered, next.value);
    }
  };
  await fill(4);
  const length = new DataView(buffered.buffer, buffered.byteOffset, buffered.byteLength).getUint32(0);
  await fill(4 + length);
  restoreSessions(buffered.subarray(4, 4 + length));
  const rest = buffered.subarray(4 + length);
  await restoreUser(
    (async function* (): AsyncIterable<Uint8Array> {
      if (rest.byteLength > 0) yield rest;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield next.value;
      }
    })(),
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.byteLength + b.byteLength);
  joined.set(a, 0);
  joined.set(b, a.byteLength);
  return joined;
}
