/**
 * Compresses whole, independent zstd frames, either on the calling thread (threads = 0) or on a
 * small pool of worker_threads, each running zstd-napi's one-shot Compressor.
 *
 * Why a pool of one-shot compressors instead of zstd's own `nbWorkers`: zstd's multithreading
 * parallelises *within* a frame (jobs of several MiB), but our frames are 4 MiB and end with a
 * blocking flush, so nbWorkers gains almost nothing per frame and still blocks the event loop on
 * every frame end. Frames are independent, so compressing N frames at once on N threads is the
 * natural parallelism; it also keeps tar building, hashing and file reads on the main thread
 * free to run ahead (measured in bench/archive.ts, see docs/archive.md).
 */
import { Worker } from 'node:worker_threads';
import { Compressor } from 'zstd-napi';

// Plain JS evaluated in the worker, so it runs the same under tsx, jest and compiled dist.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Compressor } = require(workerData.zstdPath);
const c = new Compressor();
c.setParameters({ compressionLevel: workerData.level, checksumFlag: true, contentSizeFlag: true });
parentPort.on('message', (job) => {
  try {
    const res = c.compress(new Uint8Array(job.data));
    // Copy into an exactly-sized buffer: the result may be a view of a larger scratch buffer.
    const out = new Uint8Array(res.length);
    out.set(res);
    parentPort.postMessage({ id: job.id, data: out.buffer }, [out.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String(err && err.message || err) });
  }
});
`;

interface Job {
  resolve: (b: Buffer) => void;
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
  private inline: Compressor | undefined;
  private failed: Error | undefined;

  constructor(readonly level: number, readonly threads: number) {
    if (threads <= 0) {
      this.inline = new Compressor();
      this.inline.setParameters({ compressionLevel: level, checksumFlag: true, contentSizeFlag: true });
      return;
    }
    const zstdPath = require.resolve('zstd-napi');
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { zstdPath, level } });
      const slot: Slot = { worker, busy: 0 };
      worker.unref();
      worker.on('message', (msg: { id: number; data?: ArrayBuffer; error?: string }) => {
        const job = this.jobs.get(msg.id);
        this.jobs.delete(msg.id);
        if (--slot.busy === 0) worker.unref();
        if (!job) return;
        if (msg.error !== undefined || !msg.data) job.reject(new Error(`zstd compression failed: ${msg.error}`));
        else job.resolve(Buffer.from(msg.data));
      });
      worker.on('error', (err) => this.fail(err));
      this.slots.push(slot);
    }
  }

  /** Compresses `data` into one zstd frame (content size and checksum set). `data` is detached if sent to a worker. */
  compress(data: Buffer): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.inline) {
      try {
        return Promise.resolve(this.inline.compress(data));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.busy < slot.busy) slot = s;
    const id = this.nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      if (slot.busy++ === 0) slot.worker.ref();
      const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
      // Transfer (zero-copy) only buffers that own their whole ArrayBuffer; never Node's shared pool.
      const ab = whole ? data.buffer : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
      slot.worker.postMessage({ id, data: ab }, [ab as ArrayBuffer]);
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
