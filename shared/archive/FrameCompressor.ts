/**
 * Compresses whole, independent zstd frames, either on the calling thread (threads = 0) or on a
 * small pool of worker_threads, each with its own zstd context.
 *
 * Why a pool of one-shot compressors instead of zstd's own `nbWorkers`: zstd's multithreading
 * parallelises *within* a frame (jobs of several MiB), but our frames are 4–8 MiB and each ends
 * with a blocking flush, so nbWorkers gains little per frame and still blocks the event loop at
 * every frame end. Frames are independent, so compressing N frames at once on N threads is the
 * natural parallelism, and it leaves the main thread free to build tar headers, hash and read
 * ahead. Input buffers are transferred to the worker and back (zero-copy, reused by the writer),
 * and each worker compresses into one reusable output buffer: a worker's heap is tiny, so any
 * per-frame allocation there would pile up as garbage (measured: +150 MB RSS).
 */
import { Worker } from 'node:worker_threads';
import { CCtx, CParameter, compressBound } from 'zstd-napi/binding';

// Plain JS evaluated in the worker, so it runs the same under tsx, jest and compiled dist.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { CCtx, CParameter, compressBound } = require(workerData.bindingPath);
const cctx = new CCtx();
cctx.setParameter(CParameter.compressionLevel, workerData.level);
cctx.setParameter(CParameter.checksumFlag, 1);
cctx.setParameter(CParameter.contentSizeFlag, 1);
let dst = new Uint8Array(0);
parentPort.on('message', (job) => {
  const input = new Uint8Array(job.data, 0, job.length);
  try {
    const bound = compressBound(job.length);
    if (dst.length < bound) dst = new Uint8Array(bound);
    const n = cctx.compress2(dst, input);
    const out = dst.slice(0, n);
    parentPort.postMessage({ id: job.id, data: out.buffer, input: job.data }, [out.buffer, job.data]);
  } catch (err) {
    parentPort.postMessage({ id: job.id, input: job.data, error: String((err && err.message) || err) }, [job.data]);
  }
});
`;

/** A compressed frame and the input buffer, handed back for reuse. */
export interface CompressedFrame {
  compressed: Buffer;
  input: Buffer;
}

interface Job {
  resolve: (f: CompressedFrame) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

/** Compresses independent frames; results may complete out of order, callers keep the order. */
export class FrameCompressor {
  private readonly slots: Slot[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextId = 0;
  private inline: { cctx: CCtx; dst: Buffer } | undefined;
  private failed: Error | undefined;

  constructor(
    readonly level: number,
    readonly threads: number,
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
      const slot: Slot = { worker, busy: 0 };
      worker.unref();
      worker.on('message', (msg: { id: number; data?: ArrayBuffer; input: ArrayBuffer; error?: string }) => {
        const job = this.jobs.get(msg.id);
        this.jobs.delete(msg.id);
        if (--slot.busy === 0) worker.unref();
        if (!job) return;
        if (msg.error !== undefined || !msg.data) job.reject(new Error(`zstd compression failed: ${msg.error}`));
        else job.resolve({ compressed: Buffer.from(msg.data), input: Buffer.from(msg.input) });
      });
      worker.on('error', (err) => this.fail(err));
      this.slots.push(slot);
    }
  }

  /**
   * Compresses the first `length` bytes of `frame` into one zstd frame (content size and checksum
   * set). `frame` must own its whole ArrayBuffer (Buffer.allocUnsafeSlow): it is transferred to a
   * worker and comes back as `input`.
   */
  compress(frame: Buffer, length: number): Promise<CompressedFrame> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.inline) {
      try {
        const bound = compressBound(length);
        if (this.inline.dst.length < bound) this.inline.dst = Buffer.allocUnsafeSlow(bound);
        const n = this.inline.cctx.compress2(this.inline.dst, frame.subarray(0, length));
        return Promise.resolve({ compressed: Buffer.from(this.inline.dst.subarray(0, n)), input: frame });
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    if (frame.byteOffset !== 0 || frame.byteLength !== frame.buffer.byteLength) {
      return Promise.reject(new Error('FrameCompressor: frame buffer must own its ArrayBuffer'));
    }
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.busy < slot.busy) slot = s;
    const id = this.nextId++;
    return new Promise<CompressedFrame>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      if (slot.busy++ === 0) slot.worker.ref();
      const ab = frame.buffer as ArrayBuffer;
      slot.worker.postMessage({ id, data: ab, length }, [ab]);
    });
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const job of this.jobs.values()) job.reject(err);
    this.jobs.clear();
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
