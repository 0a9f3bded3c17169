/**
 * Compresses whole, independent zstd frames, either on the calling thread (threads = 0) or on a
 * small pool of worker_threads, each with its own zstd context.
 *
 * Why a pool of one-shot compressors instead of zstd's own `nbWorkers`: zstd's multithreading
 * parallelises *within* a frame (jobs of several MiB), but our frames are 4–8 MiB and each ends
 * with a blocking flush, so nbWorkers gains little per frame and still blocks the event loop at
 * every frame end. Frames are independent, so compressing N frames at once on N threads is the
 * natural parallelism, and it leaves the main thread free to build tar headers and read ahead.
 *
 * Frame buffers are SharedArrayBuffers owned by the compressor (takeFrame/returnFrame), each sent
 * to a worker once and then named by number. Transferring plain ArrayBuffers to a worker and back made V8 count every frame
 * as new external memory on both sides, which forced a full GC every few frames (measured: ~10
 * mark-compacts per 208 MB, ~100 ms of the main thread). Each worker compresses into one reusable
 * output buffer: a worker's heap is tiny, so any per-frame allocation there would pile up as
 * garbage (measured: +150 MB RSS).
 *
 * Compressors are pooled (acquireFrameCompressor/releaseFrameCompressor): starting two workers and
 * loading zstd into each costs 40–60 ms, which the compressor service would otherwise pay for
 * every archive.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { CCtx, CParameter, compressBound } from 'zstd-napi/binding';

// Plain JS evaluated in the worker, so it runs the same under tsx, jest and compiled dist.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { CCtx, CParameter, compressBound } = require(workerData.bindingPath);
const cctx = new CCtx();
cctx.setParameter(CParameter.compressionLevel, workerData.level);
cctx.setParameter(CParameter.checksumFlag, 1);
cctx.setParameter(CParameter.contentSizeFlag, 1);
const frames = new Map();
let dst = new Uint8Array(0);
parentPort.on('message', (job) => {
  if (job.shared) frames.set(job.frame, new Uint8Array(job.shared));
  const input = frames.get(job.frame).subarray(0, job.length);
  try {
    const digests = [];
    const r = job.hashRanges;
    for (let i = 0; i < r.length; i += 2) digests.push(createHash('sha256').update(input.subarray(r[i], r[i] + r[i + 1])).digest('hex'));
    const bound = compressBound(job.length);
    if (dst.length < bound) dst = new Uint8Array(bound);
    const n = cctx.compress2(dst, input);
    const out = dst.slice(0, n);
    parentPort.postMessage({ id: job.id, data: out.buffer, digests }, [out.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String((err && err.message) || err) });
  }
});
`;

/** A compressed frame and the input buffer, handed back for reuse. */
export interface CompressedFrame {
  compressed: Buffer;
  input: Buffer;
  /** sha256 (hex) of each requested byte range of the input, in order. */
  digests: string[];
}

interface Job {
  input: Buffer;
  resolve: (f: CompressedFrame) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
  /** Frame numbers this worker already holds a view of. */
  known: Set<number>;
}

/** Compresses independent frames; results may complete out of order, callers keep the order. */
export class FrameCompressor {
  private readonly slots: Slot[] = [];
  private readonly jobs = new Map<number, Job>();
  private readonly frameIds = new WeakMap<ArrayBufferLike, number>();
  private readonly spareFrames: Buffer[] = [];
  private nextFrameId = 0;
  private nextId = 0;
  private inline: { cctx: CCtx; dst: Buffer } | undefined;
  private failed: Error | undefined;
  private closing = false;

  constructor(
    readonly level: number,
    readonly threads: number,
    /** Size of every frame buffer takeFrame() hands out. */
    readonly frameBytes: number,
  ) {
    if (threads <= 0) {
      const cctx = new CCtx();
      cctx.setParameter(CParameter.compressionLevel, level);
      cctx.setParameter(CParameter.checksumFlag, 1);
      cctx.setParameter(CParameter.contentSizeFlag, 1);
      this.inline = { cctx, dst: Buffer.alloc(0) };
      return;
    }
    const bindingPath = require.resolve('zstd-napi/binding');
    for (let i = 0; i < threads; i++) {
      // execArgv [] : the worker is plain JS and must not boot the parent's loaders (tsx, jest).
      const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { bindingPath, level } });
      const slot: Slot = { worker, busy: 0, known: new Set() };
      worker.on('message', (msg: { id: number; data?: ArrayBuffer; digests?: string[]; error?: string }) => {
        const job = this.jobs.get(msg.id);
        this.jobs.delete(msg.id);
        if (--slot.busy === 0) worker.unref();
        if (!job) return;
        if (msg.error !== undefined || !msg.data) job.reject(new Error(`zstd compression failed: ${msg.error}`));
        else job.resolve({ compressed: Buffer.from(msg.data), input: job.input, digests: msg.digests ?? [] });
      });
      worker.on('error', (err) => this.fail(err));
      // A worker that ends while frames are in flight would leave them pending forever.
      worker.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`zstd compression worker exited unexpectedly (code ${code})`));
      });
      // Unref only after the listeners: attaching 'message' refs the worker's port again, and an
      // idle pooled compressor must never keep the process alive.
      worker.unref();
      this.slots.push(slot);
    }
  }

  /** A frame buffer of frameBytes that compress() accepts (shared with the workers when there are any). */
  takeFrame(): Buffer {
    const spare = this.spareFrames.pop();
    if (spare) return spare;
    if (this.inline) return Buffer.allocUnsafeSlow(this.frameBytes);
    const shared = new SharedArrayBuffer(this.frameBytes);
    this.frameIds.set(shared, this.nextFrameId++);
    return Buffer.from(shared);
  }

  /** Hands a frame buffer back for reuse (by this writer or the next one using this compressor). */
  returnFrame(frame: Buffer): void {
    this.spareFrames.push(frame);
  }

  /** True if a failed worker made this compressor unusable. */
  get broken(): boolean {
    return this.failed !== undefined;
  }

  /** True while frames are being compressed. */
  get busy(): boolean {
    return this.jobs.size > 0;
  }

  /**
   * Compresses the first `length` bytes of `frame` into one zstd frame (content size and checksum
   * set), and hashes the members wholly inside it: `hashRanges` holds (start, length) pairs.
   * Hashing there moves it off the main thread, which is the bottleneck when packing many small
   * files. `frame` must come from takeFrame() and stay untouched until the promise settles; it
   * comes back as `input` for reuse.
   */
  compress(frame: Buffer, length: number, hashRanges: number[] = []): Promise<CompressedFrame> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.inline) {
      try {
        const digests: string[] = [];
        for (let i = 0; i < hashRanges.length; i += 2) {
          digests.push(createHash('sha256').update(frame.subarray(hashRanges[i], hashRanges[i]! + hashRanges[i + 1]!)).digest('hex'));
        }
        const bound = compressBound(length);
        if (this.inline.dst.length < bound) this.inline.dst = Buffer.allocUnsafeSlow(bound);
        const n = this.inline.cctx.compress2(this.inline.dst, frame.subarray(0, length));
        return Promise.resolve({ compressed: Buffer.from(this.inline.dst.subarray(0, n)), input: frame, digests });
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    const frameId = this.frameIds.get(frame.buffer);
    if (frameId === undefined || frame.byteOffset !== 0) return Promise.reject(new Error('FrameCompressor: frame buffer must come from takeFrame()'));
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.busy < slot.busy) slot = s;
    const id = this.nextId++;
    return new Promise<CompressedFrame>((resolve, reject) => {
      this.jobs.set(id, { input: frame, resolve, reject });
      if (slot.busy++ === 0) slot.worker.ref();
      const shared = slot.known.has(frameId) ? undefined : frame.buffer;
      slot.known.add(frameId);
      slot.worker.postMessage({ id, frame: frameId, shared, length, hashRanges });
    });
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const job of this.jobs.values()) job.reject(err);
    this.jobs.clear();
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
    this.spareFrames.length = 0;
  }
}

/** Idle compressors by level/threads/frame size; one of each is kept (its workers unref'd, so they never hold a process open). */
const idleCompressors = new Map<string, FrameCompressor>();

function poolKey(level: number, threads: number, frameBytes: number): string {
  return `${level}/${Math.max(0, threads)}/${frameBytes}`;
}

/** A compressor whose workers are already running when one is idle, else a new one. */
export function acquireFrameCompressor(level: number, threads: number, frameBytes: number): FrameCompressor {
  const key = poolKey(level, threads, frameBytes);
  const idle = idleCompressors.get(key);
  if (idle) {
    idleCompressors.delete(key);
    return idle;
  }
  return new FrameCompressor(level, threads, frameBytes);
}

/** Gives a compressor back once its writer is done; it is stopped instead if broken, busy or one is already idle. */
export function releaseFrameCompressor(c: FrameCompressor): void {
  const key = poolKey(c.level, c.threads, c.frameBytes);
  if (c.broken || c.busy || idleCompressors.has(key)) {
    void c.close().catch(() => undefined);
    return;
  }
  idleCompressors.set(key, c);
}

/** Starts the workers for these settings ahead of time (e.g. while a directory is being listed). */
export function prewarmFrameCompressor(level: number, threads: number, frameBytes: number): void {
  releaseFrameCompressor(acquireFrameCompressor(level, threads, frameBytes));
}
