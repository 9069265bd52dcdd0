/**
 * A single RawNode driven by hand: the test plays the runtime (persisting
 * each Ready to a MemoryStorage exactly as the Ready contract says) and every
 * peer (by stepping hand-written messages). Used by unit tests of the RawNode
 * API and by scenarios that need one precise message, such as a stale or
 * reordered AppendEntries.
 */
import type { RaftConfig } from '../../src/core/config.js';
import type {
  AppendEntries,
  AppendEntriesResponse,
  Heartbeat,
  HeartbeatResponse,
  Message,
  RequestVote,
  RequestVoteResponse,
} from '../../src/core/message.js';
import { RawNode } from '../../src/core/raw-node.js';
import type { ReadState } from '../../src/core/read-index.js';
import type { Ready } from '../../src/core/ready.js';
import type { Entry, NodeId } from '../../src/core/types.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { SeededRandom } from '../../src/util/random.js';

/** Core options a test may set; identity, storage and randomness have defaults. */
export type NodeOptions = Partial<Omit<RaftConfig, 'id' | 'voters' | 'storage' | 'random'>> & {
  readonly id?: NodeId;
  readonly voters?: readonly NodeId[];
  readonly storage?: MemoryStorage;
  readonly seed?: number;
};

/** Everything a run of Readies produced, in order. */
export interface Drained {
  readonly readies: Ready[];
  /** Every message, parallel ones included, in the order a runtime may send them. */
  readonly messages: Message[];
  readonly committed: Entry[];
  readonly readStates: ReadState[];
}

/** A RawNode over a MemoryStorage with the test as its runtime. */
export class NodeHarness {
  readonly raw: RawNode;
  readonly storage: MemoryStorage;

  constructor(options: NodeOptions = {}) {
    const { id = 'n1', voters = ['n1', 'n2', 'n3'], storage = new MemoryStorage(), seed = 1, ...rest } = options;
    this.storage = storage;
    this.raw = new RawNode({ ...rest, id, voters, storage, random: new SeededRandom(seed) });
  }

  get id(): NodeId {
    return this.raw.id;
  }

  step(message: Message): void {
    this.raw.step(message);
  }

  /** Makes a Ready durable: snapshot, then entries, then hard state (step 2 of the Ready contract). */
  persist(ready: Ready): void {
    if (ready.snapshot !== null) this.storage.saveSnapshotSync(ready.snapshot);
    this.storage.appendSync(ready.entries, ready.hardState ?? undefined);
  }

  /** Handles every Ready until there is none: persist, collect the output, advance. */
  drain(maxReadies = 100): Drained {
    const drained: Drained = { readies: [], messages: [], committed: [], readStates: [] };
    for (let i = 0; i < maxReadies && this.raw.hasReady(); i++) {
      const ready = this.raw.ready();
      this.persist(ready);
      drained.readies.push(ready);
      drained.messages.push(...ready.parallelMessages, ...ready.messages);
      drained.committed.push(...ready.committedEntries);
      drained.readStates.push(...ready.readStates);
      this.raw.advance();
    }
    return drained;
  }

  /** Drains and returns only the messages. */
  flush(): Message[] {
    return this.drain().messages;
  }

  /**
   * Campaigns and grants every (pre-)vote the node asks for, until it leads;
   * then acknowledges its no-op from every peer so it has committed in its term.
   */
  becomeLeader(): Message[] {
    this.raw.campaign();
    for (let round = 0; round < 4 && this.raw.status().role !== 'leader'; round++) {
      for (const message of this.flush()) {
        if (message.type === 'requestVote') this.step(grant(message));
      }
    }
    if (this.raw.status().role !== 'leader') throw new Error(`${this.id} did not become leader`);
    return this.ackAll();
  }

  /** Acknowledges every AppendEntries the node sends (each peer answers what it was sent) until none is left; returns what was left over. */
  ackAll(maxRounds = 20): Message[] {
    const others: Message[] = [];
    for (let round = 0; round < maxRounds; round++) {
      const messages = this.flush();
      if (messages.length === 0) return others;
      for (const message of messages) {
        if (message.type === 'appendEntries') this.step(ack(message));
        else others.push(message);
      }
    }
    return others;
  }
}

// ---- message builders --------------------------------------------------

type Envelope = { readonly from: NodeId; readonly to: NodeId; readonly term: number };

/** An AppendEntries; unspecified fields describe an empty append after index 0. */
export function appendEntries(fields: Envelope & Partial<Omit<AppendEntries, 'type'>>): AppendEntries {
  return { prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, ...fields, type: 'appendEntries' };
}

export function appendResponse(fields: Envelope & Partial<Omit<AppendEntriesResponse, 'type'>>): AppendEntriesResponse {
  return { success: true, index: 0, hintIndex: 0, hintTerm: 0, ...fields, type: 'appendEntriesResponse' };
}

export function heartbeat(fields: Envelope & Partial<Omit<Heartbeat, 'type'>>): Heartbeat {
  return { commit: 0, readRound: 0, ...fields, type: 'heartbeat' };
}

export function heartbeatResponse(fields: Envelope & Partial<Omit<HeartbeatResponse, 'type'>>): HeartbeatResponse {
  return { readRound: 0, ...fields, type: 'heartbeatResponse' };
}

export function voteRequest(fields: Envelope & Partial<Omit<RequestVote, 'type'>>): RequestVote {
  return { preVote: false, lastLogIndex: 0, lastLogTerm: 0, ...fields, type: 'requestVote' };
}

export function voteResponse(fields: Envelope & Partial<Omit<RequestVoteResponse, 'type'>>): RequestVoteResponse {
  return { preVote: false, granted: true, ...fields, type: 'requestVoteResponse' };
}

/** The answer of a voter that grants `request`. */
export function grant(request: RequestVote): RequestVoteResponse {
  return voteResponse({ from: request.to, to: request.from, term: request.term, preVote: request.preVote, granted: true });
}

/** The answer of a follower that accepts `append` in full. */
export function ack(append: AppendEntries): AppendEntriesResponse {
  return appendResponse({ from: append.to, to: append.from, term: append.term, success: true, index: append.prevLogIndex + append.entries.length });
}

/** The messages of one type, narrowed. */
export function ofType<T extends Message['type']>(messages: readonly Message[], type: T): Extract<Message, { type: T }>[] {
  return messages.filter((message): message is Extract<Message, { type: T }> => message.type === type);
}
