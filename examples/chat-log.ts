// A state machine with O(1) snapshots: a chat log that only grows at the end.
import type { AppliedCommand, SnapshotPoint, SnapshotSource, StateMachine } from 'keel';

/** Each command is a message; apply returns its position in the log. */
export class ChatLog implements StateMachine<number> {
  messages: string[] = [];
  /** Where the last restored snapshot ended (index 0: never restored). */
  restoredAt: SnapshotPoint = { index: 0, term: 0 };

  apply({ command }: AppliedCommand): number {
    this.messages.push(new TextDecoder().decode(command));
    return this.messages.length;
  }

  /**
   * Called synchronously between two applies. The array only grows at the end
   * and restore() replaces it, so its current length is a point-in-time view:
   * messages appended while the snapshot streams are not in it.
   */
  capture(): SnapshotSource {
    const messages = this.messages;
    const length = messages.length;
    return {
      async *chunks(): AsyncIterable<Uint8Array> {
        for (let start = 0; start < length; start += 1000) {
          yield new TextEncoder().encode(JSON.stringify(messages.slice(start, Math.min(start + 1000, length))) + '\n');
        }
      },
    };
  }

  async restore(chunks: AsyncIterable<Uint8Array>, point: SnapshotPoint): Promise<void> {
    let text = '';
    for await (const chunk of chunks) text += new TextDecoder().decode(chunk);
    // Switch only once the whole stream has been read without an error.
    this.messages = text.split('\n').filter((line) => line !== '').flatMap((line) => JSON.parse(line) as string[]);
    this.restoredAt = point;
  }
}
