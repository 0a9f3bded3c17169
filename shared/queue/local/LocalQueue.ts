/**
 * In-process Queue with SQS semantics: visibility timeout, redelivery, receive counts, a
 * dead-letter queue after `maxReceiveCount` deliveries, and long polls that wake on send.
 * Optionally durable: given a folder, every message is kept in a file there until deleted
 * (QueueFiles.ts), so a restarted process gets back every un-deleted message (in-flight ones
 * become visible again) with its receive count.
 *
 * Durable by default (`fsync`): a send returns only once its message file and the folder entry
 * are on disk, and a receive hands messages out only once their receive counts are, so a power
 * loss loses no acknowledged send and no delivery count (poison messages still reach the DLQ).
 * The syncs run on the thread pool and concurrent sends share one folder sync (durable.ts);
 * sendBatch() puts many messages in one file with one sync.
 */
import { PROCESS_TAG } from '../../storage/local/layout';
import type { SweepResult } from '../../storage/local/tempFiles';
import { QueueError, StaleReceiptError } from '../errors';
import type { Queue, QueueMessage, ReceiveOptions } from '../port';
import { groupByFile, QueueFiles, type Stored } from './QueueFiles';

export interface LocalQueueConfig {
  /** For messages and errors (default 'local-queue'). */
  name?: string;
  /** Default visibility timeout; fractions allowed (default 30). */
  visibilityTimeoutSeconds?: number;
  /** Deliveries after which a message moves to `deadLetterQueue` on its next receive. */
  maxReceiveCount?: number;
  deadLetterQueue?: LocalQueue;
  /** Persist messages as files in this folder (created if missing). */
  dir?: string;
  /** With `dir`: fsync message files, their folder and the receive journal (default true). Off only for tests and benchmarks. */
  fsync?: boolean;
}

interface Entry extends Stored {
  visibleAt: number;
  receipt?: string;
  /** The message file holding it ('' when not persisted). */
  file: string;
}

let idCounter = 0;
let receiptCounter = 0;

/**
 * Time-ordered unique id: file names sort in send order. A per-process tag where 6 random bytes
 * were drawn per message (per-object CSPRNG calls showed in the pipeline's CPU profile).
 */
function newId(): string {
  idCounter = (idCounter + 1) % 0x100000;
  return `${Date.now().toString(36).padStart(9, '0')}-${idCounter.toString(36).padStart(4, '0')}-${PROCESS_TAG}`;
}

export class LocalQueue implements Queue {
  readonly name: string;
  private readonly visibilityMs: number;
  private readonly maxReceiveCount: number | undefined;
  private readonly dlq: LocalQueue | undefined;
  private readonly files: QueueFiles | undefined;
  /** Insertion order is delivery order (roughly FIFO, as SQS standard queues are). */
  private readonly messages = new Map<string, Entry>();
  private readonly byReceipt = new Map<string, string>();
  private waiters: Array<() => void> = [];

  constructor(cfg: LocalQueueConfig = {}) {
    this.name = cfg.name ?? 'local-queue';
    this.visibilityMs = (cfg.visibilityTimeoutSeconds ?? 30) * 1000;
    this.maxReceiveCount = cfg.maxReceiveCount;
    this.dlq = cfg.deadLetterQueue;
    if (cfg.dir) {
      this.files = new QueueFiles(this.name, cfg.dir, cfg.fsync ?? true);
      for (const { stored, file } of this.files.load()) this.messages.set(stored.id, { ...stored, file, visibleAt: 0 });
    }
  }

  async send(body: string): Promise<void> {
    await this.enqueue([{ id: newId(), body, receiveCount: 0, sentAt: Date.now() }]);
  }

  /**
   * Send many bodies at once: with a folder, one message file, one sync and one folder sync for
   * them all (all or none are persisted). Not in the Queue port (SQS batches are of 10); the
   * local store's scans use it when a rule's queue has it.
   */
  async sendBatch(bodies: string[]): Promise<void> {
    if (bodies.length === 0) return;
    const now = Date.now();
    await this.enqueue(bodies.map((body) => ({ id: newId(), body, receiveCount: 0, sentAt: now })));
  }

  async receive(opts: ReceiveOptions = {}): Promise<QueueMessage[]> {
    const max = Math.min(10, Math.max(1, opts.maxMessages ?? 1));
    const visMs = opts.visibilityTimeoutSeconds !== undefined ? opts.visibilityTimeoutSeconds * 1000 : this.visibilityMs;
    const deadline = Date.now() + Math.min(20, Math.max(0, opts.waitSeconds ?? 0)) * 1000;
    for (;;) {
      const got = await this.take(max, visMs);
      const now = Date.now();
      if (got.length > 0 || now >= deadline) return got;
      // Sleep until a send, the next message's visibility ends, or the poll's deadline.
      let nextVisible = deadline;
      for (const m of this.messages.values()) if (m.visibleAt > now && m.visibleAt < nextVisible) nextVisible = m.visibleAt;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(1, nextVisible - now));
        const waiters = this.waiters;
        function done(): void {
          clearTimeout(timer);
          const i = waiters.indexOf(done);
          if (i >= 0) waiters.splice(i, 1);
          resolve();
        }
        this.waiters.push(done);
      });
    }
  }

  async extendVisibility(receiptHandle: string, seconds: number): Promise<void> {
    const m = this.owned(receiptHandle);
    if (!m) throw new StaleReceiptError(this.name);
    m.visibleAt = Date.now() + seconds * 1000;
    if (seconds <= 0) this.wake();
  }

  async deleteBatch(receiptHandles: string[]): Promise<void> {
    // Stale handles (already deleted or redelivered) are skipped, not an error.
    const gone: Entry[] = [];
    for (const h of receiptHandles) {
      const m = this.owned(h);
      if (m) gone.push(m);
    }
    await this.remove(gone);
  }

  async approximateDepth(): Promise<number> {
    const now = Date.now();
    let n = 0;
    for (const m of this.messages.values()) if (m.visibleAt <= now) n++;
    return n;
  }

  /**
   * Removes message temp files (`.tmp-*`) that writers killed between writing and renaming
   * left in the folder; they are never read. Opening the queue already removes those older than a
   * few seconds; the folder's owner (the appliance, holding its data-dir lock) calls this at
   * start-up for all of them. This queue's own writes in flight are kept, and with `olderThanMs`
   * every file modified more recently than that. Returns what it removed.
   */
  sweepTempFiles(opts: { olderThanMs?: number } = {}): SweepResult {
    if (!this.files) return { files: 0, bytes: 0 };
    try {
      return this.files.sweepTempFiles(opts.olderThanMs ?? 0);
    } catch (err) {
      throw new QueueError(`${this.name}: sweeping temp files in ${this.files.dir} failed: ${(err as Error).message}`, this.name, false, { cause: err });
    }
  }

  /** Messages held, visible or in flight (for tests and the appliance's "all work done" check). */
  size(): number {
    return this.messages.size;
  }

  private async take(max: number, visMs: number): Promise<QueueMessage[]> {
    const now = Date.now();
    const out: QueueMessage[] = [];
    const counted: Entry[] = [];
    // Deleting the current entry while iterating a Map is safe; no copy of a deep queue per receive.
    for (const m of this.messages.values()) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      if (this.dlq && this.maxReceiveCount !== undefined && m.receiveCount >= this.maxReceiveCount) {
        // Redrive: as SQS, on the receive after the last allowed delivery. Out of this queue
        // first (so no other receiver takes it), into the DLQ's folder before out of ours: a crash
        // in between duplicates the message rather than losing it.
        this.messages.delete(m.id);
        if (m.receipt) this.byReceipt.delete(m.receipt);
        await this.dlq.enqueue([{ id: m.id, body: m.body, receiveCount: 0, sentAt: m.sentAt }]);
        await this.remove([m]);
        continue;
      }
      if (m.receipt) this.byReceipt.delete(m.receipt);
      m.receiveCount += 1;
      receiptCounter += 1;
      m.receipt = `${m.id}#${receiptCounter.toString(36)}`;
      m.visibleAt = now + visMs;
      this.byReceipt.set(m.receipt, m.id);
      counted.push(m);
      out.push({ id: m.id, receiptHandle: m.receipt, body: m.body, receiveCount: m.receiveCount });
    }
    // Receive counts are durable before the messages are handed out.
    if (counted.length > 0 && this.files) await this.files.received(counted, () => this.live());
    return out;
  }

  /** Persisted messages by file, for journal folds. */
  private live(): Map<string, Stored[]> {
    const all: Array<{ stored: Stored; file: string }> = [];
    for (const m of this.messages.values()) all.push({ stored: { id: m.id, body: m.body, receiveCount: m.receiveCount, sentAt: m.sentAt }, file: m.file });
    return groupByFile(all);
  }

  /** The message this receipt handle currently owns, if any. */
  private owned(receipt: string): Entry | undefined {
    const id = this.byReceipt.get(receipt);
    const m = id === undefined ? undefined : this.messages.get(id);
    return m && m.receipt === receipt ? m : undefined;
  }

  private async enqueue(stored: Stored[]): Promise<void> {
    const file = this.files ? await this.files.write(stored) : '';
    for (const s of stored) this.messages.set(s.id, { ...s, file, visibleAt: 0 });
    this.wake();
  }

  private async remove(ms: Entry[]): Promise<void> {
    if (ms.length === 0) return;
    for (const m of ms) {
      this.messages.delete(m.id);
      if (m.receipt) this.byReceipt.delete(m.receipt);
    }
    await this.files?.deleted(ms, () => this.messages.size === 0);
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}
