/**
 * Creates small files on worker threads, in batches: each file is written to its temporary name
 * (O_EXCL), given its modification time, closed and renamed into place with synchronous system
 * calls on the worker, optionally after the worker checked its sha256.
 *
 * Why: extraction spent 63% of its time waiting on file creation. Through fs.promises each file
 * costs five thread-pool round trips (open, write, utimes, close, rename), each with a promise on
 * the main thread; here one message carries a batch of files and the main thread only parses tar
 * headers. Bytes in a SharedArrayBuffer (a decoded frame) are written from it directly, never
 * copied. The worker is plain JS evaluated from a string (see FrameCompressor), so it loads the
 * same under tsx, jest and compiled dist.
 */
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
parentPort.on('message', (job) => {
  const results = [];
  for (const f of job.files) {
    let fd = -1;
    let opened = false;
    try {
      const data = f.shared !== undefined ? new Uint8Array(job.shared[f.shared], f.start, f.length) : f.data;
      if (f.sha256) {
        const got = createHash('sha256').update(data).digest('hex');
        if (got !== f.sha256) {
          results.push({ check: 'sha256', got });
          continue;
        }
      }
      fd = fs.openSync(f.tmp, 'wx', 0o644);
      opened = true;
      let off = 0;
      while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
      if (f.mtime !== undefined) fs.futimesSync(fd, f.mtime, f.mtime);
      fs.closeSync(fd);
      fd = -1;
      fs.renameSync(f.tmp, f.path);
      results.push(null);
    } catch (err) {
      if (fd >= 0) try { fs.closeSync(fd); } catch {}
      if (opened) try { fs.unlinkSync(f.tmp); } catch {}
      results.push({ message: String((err && err.message) || err), code: err && err.code });
    }
  }
  parentPort.postMessage({ id: job.id, results });
});
`;

/** One file to create: `data` goes to `tmp`, which is renamed to `path` once written. */
export interface FileToWrite {
  path: string;
  tmp: string;
  data: Buffer;
  /** Modification time to set (seconds since the epoch). */
  mtime?: number;
  /** When given, the worker refuses (FileWriteError, check 'sha256') unless `data` hashes to it; nothing is written then. */
  sha256?: string;
}

/** A file the pool could not create (its temporary is removed); `check` is set when its sha256 disagreed. */
export class FileWriteError extends Error {
  constructor(
    readonly path: string,
    message: string,
    readonly code?: string,
    readonly check?: 'sha256',
    readonly got?: string,
  ) {
    super(message);
    this.name = 'FileWriteError';
  }
}

interface Pending {
  file: FileToWrite;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

type Result = null | { check?: 'sha256'; got?: string; message?: string; code?: string };

/** Files per message, and bytes: enough to amortize a message, few enough to keep every writer busy. */
const BATCH_FILES = 32;
const BATCH_BYTES = 4 * 1024 * 1024;

/** Writes batches of small files on worker threads; each write() resolves once its file is renamed into place. */
export class FileWriterPool {
  private readonly slots: Slot[] = [];
  private readonly batches = new Map<number, Pending[]>();
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private nextId = 0;
  private failed: Error | undefined;
  private closing = false;

  constructor(readonly threads = 2) {}

  /** Starts one more writer, on demand, when every running one is busy (a small extraction boots one). */
  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    const slot: Slot = { worker, busy: 0 };
    worker.on('message', (msg: { id: number; results: Result[] }) => this.settle(slot, msg));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`file writer worker exited unexpectedly (code ${code})`));
    });
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  /** Files written or waiting. */
  get pending(): number {
    let n = this.queue.length;
    for (const b of this.batches.values()) n += b.length;
    return n;
  }

  /** Queues one file; resolves once it is in place, rejects (FileWriteError) if it could not be, with its temporary removed. */
  write(file: FileToWrite): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ file, resolve, reject });
      this.queuedBytes += file.data.length;
      if (this.queue.length >= BATCH_FILES || this.queuedBytes >= BATCH_BYTES) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    let slot: Slot | undefined = this.slots[0];
    for (const s of this.slots) if (s.busy < slot!.busy) slot = s;
    if (!slot || (slot.busy > 0 && this.slots.length < Math.max(1, this.threads))) slot = this.spawn();
    const id = this.nextId++;
    const shared: SharedArrayBuffer[] = [];
    const index = new Map<SharedArrayBuffer, number>();
    const files = batch.map(({ file: f }) => {
      const base = { path: f.path, tmp: f.tmp, ...(f.mtime !== undefined && { mtime: f.mtime }), ...(f.sha256 !== undefined && { sha256: f.sha256 }) };
      if (f.data.buffer instanceof SharedArrayBuffer) {
        // Sharing a SharedArrayBuffer in a message copies nothing.
        let k = index.get(f.data.buffer);
        if (k === undefined) {
          k = shared.push(f.data.buffer) - 1;
          index.set(f.data.buffer, k);
        }
        return { ...base, shared: k, start: f.data.byteOffset, length: f.data.length };
      }
      // A view of a larger buffer would be cloned whole: send exactly its bytes.
      return { ...base, data: f.data.byteLength === f.data.buffer.byteLength ? f.data : new Uint8Array(f.data) };
    });
    this.batches.set(id, batch);
    if (slot.busy++ === 0) slot.worker.ref();
    slot.worker.postMessage({ id, shared, files });
  }

  private settle(slot: Slot, msg: { id: number; results: Result[] }): void {
    const batch = this.batches.get(msg.id);
    this.batches.delete(msg.id);
    if (--slot.busy === 0) slot.worker.unref();
    batch?.forEach((p, i) => {
      const r = msg.results[i];
      if (r === null) return p.resolve();
      if (r?.check === 'sha256') return p.reject(new FileWriteError(p.file.path, `${p.file.path}: sha256 ${r.got}, expected ${p.file.sha256}; not written`, undefined, 'sha256', r.got));
      p.reject(new FileWriteError(p.file.path, r?.message ?? 'write failed', r?.code));
    });
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const b of this.batches.values()) for (const p of b) p.reject(err);
    for (const p of this.queue) p.reject(err);
    this.batches.clear();
    this.queue = [];
  }

  /** Stops the workers (after the files queued so far are written). */
  async close(): Promise<void> {
    this.flush();
    while (this.batches.size > 0) await new Promise((r) => setImmediate(r));
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}

let shared: FileWriterPool | undefined;

/** The process's shared writer pool (workers unref'd when idle: it never holds a process open). */
export function sharedFileWriterPool(): FileWriterPool {
  shared ??= new FileWriterPool();
  return shared;
}
