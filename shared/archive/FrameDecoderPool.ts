/**
 * Decompresses whole, independent zstd frames on a small pool of worker_threads, each with its
 * own zstd context, and hashes byte ranges of each frame's output there (the members wholly
 * inside the frame), so neither decompression nor most hashing runs on the main thread.
 *
 * Why: decompression on the main thread (~2 s per GB, synchronous) and sha256 there were most of
 * `archive extract`'s user CPU, and while zstd ran no file could be created. The seek table gives
 * every frame's compressed span, so frames decode independently; callers keep the order
 * (decodeFrames.ts). Each frame's output buffer is sized from its seek-table entry, which
 * parseSeekTable has already capped (MAX_FRAME_BYTES), so a forged entry never allocates more.
 *
 * The worker is plain JS evaluated from a string, as in FrameCompressor, so it loads the same
 * under tsx, jest (@swc/jest) and compiled dist.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { ArchiveCorruptError } from './errors';
import { checkFrameFacts, type FrameContext } from './seekFrame';
import type { SeekFrame } from './seekTable';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { DCtx, findFrameCompressedSize } = require(workerData.bindingPath);
const dctx = new DCtx();
const ZSTD_MAGIC = 0xfd2fb528;
const buffers = new Map();
parentPort.on('message', (job) => {
  for (const [id, sab] of job.share) buffers.set(id, new Uint8Array(sab));
  for (const id of job.forget) buffers.delete(id);
  try {
    const input = buffers.get(job.input).subarray(0, job.inputLength);
    const out = buffers.get(job.output).subarray(0, job.size);
    const n = dctx.decompress(out, input);
    const span = findFrameCompressedSize(input);
    let checksum = null;
    // The content checksum (= the seek-table entry's XXH64 low bits) when the input is exactly one frame with the flag set.
    const u32 = (p) => (input[p] | (input[p + 1] << 8) | (input[p + 2] << 16) | (input[p + 3] << 24)) >>> 0;
    if (span === input.length && span >= 9 && u32(0) === ZSTD_MAGIC && (input[4] & 0x04) !== 0) checksum = u32(span - 4);
    const digests = [];
    const r = job.hashRanges;
    for (let i = 0; i < r.length; i += 2) {
      digests.push(r[i] + r[i + 1] <= n ? createHash('sha256').update(out.subarray(r[i], r[i] + r[i + 1])).digest('hex') : null);
    }
    parentPort.postMessage({ id: job.id, n, span, checksum, digests });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String((err && err.message) || err) });
  }
});
`;

/** One decoded frame: its content (exactly the entry's size) and the sha256 of each requested range. */
export interface DecodedFrame {
  entry: SeekFrame;
  /** A view of a pooled shared buffer: valid until release(). */
  data: Buffer;
  /** sha256 (hex) of each (start, length) pair asked for, relative to the frame's content ('' if out of range). */
  digests: string[];
  /** Hands the buffer back to the pool; `data` must not be used afterwards. */
  release(): void;
}

/** A frame the pool could not use (worker gone, pool closed): not the archive's fault. */
export class FrameDecoderPoolError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FrameDecoderPoolError';
  }
}

interface Job {
  entry: SeekFrame;
  ctx: FrameContext;
  input: Buffer;
  output: Buffer;
  resolve: (f: DecodedFrame) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
  /** Buffer ids this worker holds a view of. */
  known: Set<number>;
}

interface Reply {
  id: number;
  n?: number;
  span?: number;
  checksum?: number | null;
  digests?: (string | null)[];
  error?: string;
}

/** Decoder threads by default: every core (decoding is the CPU-heavy part; the main thread mostly waits on I/O). */
export const DEFAULT_DECODERS = Math.max(1, Math.min(4, availableParallelism()));

/** Buffers are allocated in whole MiB (at least 1), so frames of slightly different sizes reuse them. */
const MIB = 1024 * 1024;
/** Spare buffers kept for reuse, in bytes; past it a returned buffer is dropped (and forgotten by the workers). */
const MAX_SPARE_BYTES = 160 * MIB;

/**
 * Decodes independent zstd frames on worker threads; results may complete out of order.
 *
 * Every input and output lives in a SharedArrayBuffer the pool hands out (take) and takes back
 * (give / DecodedFrame.release), each sent to a worker once and then named by number. Transferring
 * a fresh ArrayBuffer per frame instead made V8 account every 4–8 MiB frame as new external
 * memory: 2.8 s of garbage collection on the main thread per GB (measured), more than the
 * decompression it moved away.
 */
export class FrameDecoderPool {
  private readonly slots: Slot[] = [];
  private readonly jobs = new Map<number, Job>();
  private readonly ids = new WeakMap<ArrayBufferLike, number>();
  private spare: Buffer[] = [];
  private spareBytes = 0;
  /** Ids of buffers dropped since each worker last heard, so it lets go of its views. */
  private forgotten: number[] = [];
  private nextBufferId = 0;
  private nextId = 0;
  private failed: Error | undefined;
  private closing = false;

  constructor(readonly threads: number = DEFAULT_DECODERS) {}

  /**
   * Starts one more worker. Workers start on demand, when every running one is busy: a small
   * archive then boots one isolate, not `threads` (each costs 20–40 ms with zstd loaded).
   */
  private spawn(): Slot {
    // execArgv []: the worker is plain JS and must not boot the parent's loaders (tsx, jest).
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { bindingPath: require.resolve('zstd-napi/binding') } });
    const slot: Slot = { worker, busy: 0, known: new Set() };
    worker.on('message', (msg: Reply) => this.settle(slot, msg));
    worker.on('error', (err) => this.fail(new FrameDecoderPoolError(`zstd decoder worker failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new FrameDecoderPoolError(`zstd decoder worker exited unexpectedly (code ${code})`));
    });
    // Unref after the listeners (attaching 'message' refs the port): an idle pool never keeps the process alive.
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  /** Frames being decoded now. */
  get inflight(): number {
    return this.jobs.size;
  }

  /** A buffer of exactly `size` bytes (a view at offset 0 of a pooled shared buffer) for decode(). */
  take(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.spare.length; i++) {
      const cap = this.spare[i]!.buffer.byteLength;
      if (cap >= size && (best < 0 || cap < this.spare[best]!.buffer.byteLength)) best = i;
    }
    if (best >= 0) {
      const b = this.spare.splice(best, 1)[0]!;
      this.spareBytes -= b.buffer.byteLength;
      return b.subarray(0, size);
    }
    const sab = new SharedArrayBuffer(Math.max(MIB, Math.ceil(size / MIB) * MIB));
    this.ids.set(sab, this.nextBufferId++);
    return Buffer.from(sab, 0, size);
  }

  /** Gives a buffer from take() back for reuse. */
  give(b: Buffer): void {
    const cap = b.buffer.byteLength;
    const id = this.ids.get(b.buffer);
    if (id === undefined) return;
    if (this.spareBytes + cap > MAX_SPARE_BYTES) {
      this.forgotten.push(id);
      for (const s of this.slots) s.known.delete(id);
      return;
    }
    this.spare.push(Buffer.from(b.buffer, 0, cap));
    this.spareBytes += cap;
  }

  /**
   * Decodes one frame whose compressed bytes fill `compressed` exactly (from take(); the pool
   * takes it back once decoded), checks it against its seek-table entry (span, size, checksum:
   * ArchiveCorruptError naming ctx's member) and hashes `hashRanges`.
   */
  decode(compressed: Buffer, entry: SeekFrame, ctx: FrameContext, hashRanges: number[] = []): Promise<DecodedFrame> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closing) return Promise.reject(new FrameDecoderPoolError('frame decoder pool is closed'));
    let input = compressed;
    if (compressed.byteOffset !== 0 || this.ids.get(compressed.buffer) === undefined) {
      input = this.take(compressed.length);
      compressed.copy(input);
    }
    const output = this.take(entry.decompressedSize);
    let slot: Slot | undefined = this.slots[0];
    for (const s of this.slots) if (s.busy < slot!.busy) slot = s;
    if (!slot || (slot.busy > 0 && this.slots.length < Math.max(1, this.threads))) slot = this.spawn();
    const id = this.nextId++;
    const share: [number, SharedArrayBuffer][] = [];
    for (const b of [input, output]) {
      const bid = this.ids.get(b.buffer)!;
      if (!slot.known.has(bid)) {
        slot.known.add(bid);
        share.push([bid, b.buffer as SharedArrayBuffer]);
      }
    }
    const forget = this.forgotten;
    this.forgotten = [];
    const target = slot;
    return new Promise<DecodedFrame>((resolve, reject) => {
      const slot = target;
      this.jobs.set(id, { entry, ctx, input, output, resolve, reject });
      if (slot.busy++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, share, forget, input: this.ids.get(input.buffer), inputLength: input.length, output: this.ids.get(output.buffer), size: entry.decompressedSize, hashRanges });
    });
  }

  private settle(slot: Slot, msg: Reply): void {
    const job = this.jobs.get(msg.id);
    this.jobs.delete(msg.id);
    if (--slot.busy === 0) slot.worker.unref();
    if (!job) return;
    const { entry, ctx, input, output } = job;
    this.give(input);
    try {
      if (msg.error !== undefined) {
        throw new ArchiveCorruptError({ ...ctx, check: 'zstd' }, `zstd: frame at ${entry.compressedOffset}: ${msg.error}`);
      }
      checkFrameFacts(entry, { compressedSize: msg.span!, decompressedSize: msg.n!, contentChecksum: msg.checksum ?? undefined }, ctx);
      let released = false;
      job.resolve({
        entry,
        data: output,
        digests: (msg.digests ?? []).map((d) => d ?? ''),
        release: () => {
          if (released) return;
          released = true;
          this.give(output);
        },
      });
    } catch (err) {
      this.give(output);
      job.reject(err as Error);
    }
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const job of this.jobs.values()) job.reject(err);
    this.jobs.clear();
  }

  /** True if a failed worker made this pool unusable. */
  get broken(): boolean {
    return this.failed !== undefined;
  }

  /** Stops the workers; frames still in flight are rejected. */
  async close(): Promise<void> {
    this.closing = true;
    for (const job of this.jobs.values()) job.reject(new FrameDecoderPoolError('frame decoder pool closed'));
    this.jobs.clear();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
    this.spare = [];
  }
}

let shared: FrameDecoderPool | undefined;

/**
 * The process's shared decoder pool (started on first use; its workers are unref'd when idle, so
 * it never holds a process open). Starting workers and loading zstd costs 40–60 ms: a router or a
 * restore of many archives pays it once.
 */
export function sharedFrameDecoderPool(): FrameDecoderPool {
  if (!shared || shared.broken) shared = new FrameDecoderPool();
  return shared;
}
