/**
 * In-process Queue with SQS semantics: visibility timeout, redelivery, receive counts, a
 * dead-letter queue after `maxReceiveCount` deliveries, and long polls that wake on send.
 * Optionally durable: given a folder, every message is a file there until deleted, so a
 * restarted process gets back every un-deleted message (in-flight ones become visible again).
 * Those files are written and removed with synchronous calls: each is a few hundred bytes, and a
 * threadpool round trip per file cost several times the syscall on the bench machine. Receive
 * counts go to an append-only journal (one line per delivery, one append per receive) instead of
 * rewriting each message's file: a new file and a rename per delivered message were a quarter
 * of the embedded pipeline's time. The journal is folded back into the files on load, and removed
 * whenever the queue is empty.
 *
 * Durable by default (`fsync`): a send returns only once its message file and the folder entry
 * are on disk, and a receive hands messages out only once their receive counts are, so a power
 * loss loses no acknowledged send and no delivery count (poison messages still reach the DLQ).
 * The syncs run on the thread pool and concurrent sends share one folder sync (durable.ts).
 * Deletes are not synced: one undone by a power loss is a redelivery, which at-least-once allows.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { appendDurably, DirSync, syncDirSync, writeFileDurably, writeFileDurablySync } from '../../storage/local/durable';
import { sweepTemp, type SweepResult } from '../../storage/local/tempFiles';
import { QueueError, StaleReceiptError } from '../errors';
import type { Queue, QueueMessage, ReceiveOptions } from '../port';

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

interface Stored {
  id: string;
  body: string;
  receiveCount: number;
  sentAt: number;
}

interface Entry extends Stored {
  visibleAt: number;
  receipt?: string;
}

/** Receive-count journal in the queue's folder: `<id> <receiveCount>` lines. */
const JOURNAL = 'receives.log';
/** Past this size the journal is folded into the message files during a run too. */
const JOURNAL_MAX_BYTES = 4 * 1024 * 1024;
/** Message temp files (a write, a sync and a rename away from a message file). */
const TEMP_PREFIX = '.tmp-';
/**
 * load() removes temp files older than this. One lives for a write and an fdatasync, milliseconds
 * (seconds under heavy I/O), so an older one is a killed writer's, even if a second process
 * opened the same folder; the folder's owner calls sweepTempFiles() for the rest.
 */
const STALE_TEMP_MS = 10_000;

let idCounter = 0;

/** What a message file holds. */
function stored(m: Entry): Stored {
  return { id: m.id, body: m.body, receiveCount: m.receiveCount, sentAt: m.sentAt };
}

/** Time-ordered unique id: file names sort in send order. */
function newId(): string {
  idCounter = (idCounter + 1) % 0x100000;
  return `${Date.now().toString(36).padStart(9, '0')}-${idCounter.toString(36).padStart(4, '0')}-${randomBytes(6).toString('hex')}`;
}

export class LocalQueue implements Queue {
  readonly name: string;
  private readonly visibilityMs: number;
  private readonly maxReceiveCount: number | undefined;
  private readonly dlq: LocalQueue | undefined;
  private readonly dir: string | undefined;
  private readonly fsync: boolean;
  private readonly dirSync = new DirSync();
  /** Temp files of this queue's writes in flight: sweepTempFiles leaves them alone. */
  private readonly inFlight = new Set<string>();
  /** Insertion order is delivery order (roughly FIFO, as SQS standard queues are). */
  private readonly messages = new Map<string, Entry>();
  private readonly byReceipt = new Map<string, string>();
  private waiters: Array<() => void> = [];
  /** Bytes appended to the journal since it was last removed (it is always removed on load). */
  private journalBytes = 0;

  constructor(cfg: LocalQueueConfig = {}) {
    this.name = cfg.name ?? 'local-queue';
    this.visibilityMs = (cfg.visibilityTimeoutSeconds ?? 30) * 1000;
    this.maxReceiveCount = cfg.maxReceiveCount;
    this.dlq = cfg.deadLetterQueue;
    this.dir = cfg.dir;
    this.fsync = cfg.fsync ?? true;
    if (this.dir) this.load(this.dir);
  }

  async send(body: string): Promise<void> {
    await this.enqueue({ id: newId(), body, receiveCount: 0, sentAt: Date.now() });
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
    for (const h of receiptHandles) {
      const m = this.owned(h);
      if (m) this.remove(m);
    }
  }

  async approximateDepth(): Promise<number> {
    const now = Date.now();
    let n = 0;
    for (const m of this.messages.values()) if (m.visibleAt <= now) n++;
    return n;
  }

  /**
   * Removes message temp files (`.tmp-*`) that writers killed between writing and renaming
   * left in the folder; they are never read. load() already removes those older than a few
   * seconds; the folder's owner (the appliance, holding its data-dir lock) calls this at start-up
   * for all of them. This queue's own writes in flight are kept, and with `olderThanMs` every
   * file modified more recently than that. Returns what it removed.
   */
  sweepTempFiles(opts: { olderThanMs?: number } = {}): SweepResult {
    if (!this.dir) return { files: 0, bytes: 0 };
    try {
      return sweepTemp(this.dir, (name) => name.startsWith(TEMP_PREFIX), this.inFlight, opts.olderThanMs ?? 0);
    } catch (err) {
      throw new QueueError(`${this.name}: sweeping temp files in ${this.dir} failed: ${(err as Error).message}`, this.name, false, { cause: err });
    }
  }

  /** Messages held, visible or in flight (for tests and the appliance's "all work done" check). */
  size(): number {
    return this.messages.size;
  }

  private async take(max: number, visMs: number): Promise<QueueMessage[]> {
    const now = Date.now();
    const out: QueueMessage[] = [];
    let journal = '';
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
        await this.dlq.enqueue({ id: m.id, body: m.body, receiveCount: 0, sentAt: m.sentAt });
        this.remove(m);
        continue;
      }
      if (m.receipt) this.byReceipt.delete(m.receipt);
      m.receiveCount += 1;
      m.receipt = `${m.id}#${randomBytes(8).toString('hex')}`;
      m.visibleAt = now + visMs;
      this.byReceipt.set(m.receipt, m.id);
      journal += `${m.id} ${m.receiveCount}\n`;
      out.push({ id: m.id, receiptHandle: m.receipt, body: m.body, receiveCount: m.receiveCount });
    }
    // Receive counts are durable before the messages are handed out.
    if (journal) await this.journal(journal);
    return out;
  }

  /** Appends receive counts; folds the journal into the message files when it grew large. */
  private async journal(lines: string): Promise<void> {
    if (!this.dir) return;
    this.journalBytes += Buffer.byteLength(lines);
    try {
      const created = await appendDurably(path.join(this.dir, JOURNAL), lines, this.fsync);
      // A journal the append created is a new folder entry: synced too.
      if (created && this.fsync) await this.dirSync.sync(this.dir);
    } catch (err) {
      throw new QueueError(`${this.name}: recording receive counts in ${path.join(this.dir, JOURNAL)} failed: ${(err as Error).message}`, this.name, false, { cause: err });
    }
    if (this.journalBytes > JOURNAL_MAX_BYTES) {
      // Synchronous, so no receive appends to the journal between the fold and its removal. Rare
      // (every ~140,000 receives) and only for messages delivered at least once.
      for (const m of this.messages.values()) if (m.receiveCount > 0) this.persistSync(m);
      if (this.fsync) syncDirSync(this.dir);
      this.dropJournal();
    }
  }

  /** Removes the journal (every count in it is in the message files, or its messages are gone). */
  private dropJournal(): void {
    rmSync(path.join(this.dir as string, JOURNAL), { force: true });
    this.journalBytes = 0;
  }

  /** The message this receipt handle currently owns, if any. */
  private owned(receipt: string): Entry | undefined {
    const id = this.byReceipt.get(receipt);
    const m = id === undefined ? undefined : this.messages.get(id);
    return m && m.receipt === receipt ? m : undefined;
  }

  private async enqueue(s: Stored): Promise<void> {
    const m: Entry = { ...s, visibleAt: 0 };
    await this.persist(m);
    this.messages.set(m.id, m);
    this.wake();
  }

  private remove(m: Entry): void {
    this.messages.delete(m.id);
    if (m.receipt) this.byReceipt.delete(m.receipt);
    if (this.dir) {
      rmSync(this.file(m.id), { force: true });
      // Nothing left to count: the journal goes too (it only ever describes live messages).
      if (this.messages.size === 0) this.dropJournal();
    }
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private file(id: string): string {
    return path.join(this.dir as string, `${id}.json`);
  }

  /** Writes a message's file (temp file, synced, renamed) and syncs the folder: on disk when this resolves. */
  private async persist(m: Entry): Promise<void> {
    if (!this.dir) return;
    const tmp = this.tmpFile();
    this.inFlight.add(tmp);
    try {
      await writeFileDurably(tmp, JSON.stringify(stored(m)), this.fsync);
      renameSync(tmp, this.file(m.id));
      if (this.fsync) await this.dirSync.sync(this.dir);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new QueueError(`${this.name}: persisting message ${m.id} in ${this.dir} failed: ${(err as Error).message}`, this.name, false, { cause: err });
    } finally {
      this.inFlight.delete(tmp);
    }
  }

  /** persist() for load and journal folds, where nothing may come in between; the caller syncs the folder once for all. */
  private persistSync(m: Entry): void {
    const tmp = this.tmpFile();
    try {
      writeFileDurablySync(tmp, JSON.stringify(stored(m)), this.fsync);
      renameSync(tmp, this.file(m.id));
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new QueueError(`${this.name}: persisting message ${m.id} in ${this.dir} failed: ${(err as Error).message}`, this.name, false, { cause: err });
    }
  }

  private tmpFile(): string {
    return path.join(this.dir as string, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
  }

  /** Restore persisted messages, all visible (in-flight ones lost their consumer with the process). */
  private load(dir: string): void {
    const first = mkdirSync(dir, { recursive: true });
    // A new queue folder is an entry in its parent (and so on up): on disk before any send returns.
    if (first !== undefined && this.fsync) {
      for (let d = dir; ; d = path.dirname(d)) {
        syncDirSync(path.dirname(d));
        if (d === first) break;
      }
    }
    try {
      this.sweepTempFiles({ olderThanMs: STALE_TEMP_MS });
    } catch {
      // Only tidying: leftovers are never read, and the owner's sweepTempFiles() reports failures.
    }
    for (const name of readdirSync(dir).sort()) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      try {
        const s = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Stored;
        this.messages.set(s.id, { ...s, visibleAt: 0 });
      } catch {
        // A torn write cannot happen (tmp + rename); an unreadable file is skipped, not fatal.
      }
    }
    // Fold the receive journal into the files (a torn last line from a crash is ignored), then drop it.
    const journal = path.join(dir, JOURNAL);
    if (!existsSync(journal)) return;
    const changed = new Set<Entry>();
    for (const line of readFileSync(journal, 'utf8').split('\n')) {
      const match = /^(\S+) (\d+)$/.exec(line);
      const m = match ? this.messages.get(match[1]!) : undefined;
      if (m && Number(match![2]) > m.receiveCount) {
        m.receiveCount = Number(match![2]);
        changed.add(m);
      }
    }
    for (const m of changed) this.persistSync(m);
    if (changed.size > 0 && this.fsync) syncDirSync(dir);
    this.dropJournal();
  }
}
