/** Test helper: deterministic byte streams and hashing, without holding big objects in memory. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

const BASE_LEN = 1_048_573; // prime, so patterns do not line up with power-of-two part sizes
let base: Buffer | undefined;

function baseBlock(): Buffer {
  if (!base) {
    base = Buffer.allocUnsafe(BASE_LEN);
    let x = 0x9e3779b9;
    for (let i = 0; i < BASE_LEN; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      base[i] = x & 0xff;
    }
  }
  return base;
}

/** Deterministic pseudo-random bytes [offset, offset+length) of stream `seed`. */
export function patternBytes(seed: number, offset: number, length: number): Buffer {
  const b = baseBlock();
  const out = Buffer.allocUnsafe(length);
  let pos = (offset + seed * 7919) % BASE_LEN;
  for (let done = 0; done < length; ) {
    const n = Math.min(length - done, BASE_LEN - pos);
    b.copy(out, done, pos, pos + n);
    done += n;
    pos = 0;
  }
  return out;
}

/** A Readable of `size` pattern bytes in `chunk`-sized pieces. */
export function patternStream(seed: number, size: number, chunk = 256 * 1024): Readable {
  let pos = 0;
  return new Readable({
    read() {
      if (pos >= size) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, size - pos);
      this.push(patternBytes(seed, pos, n));
      pos += n;
    },
  });
}

/** sha256 (hex) of the pattern stream, computed without buffering it whole. */
export function patternSha256(seed: number, size: number, chunk = 256 * 1024): string {
  const h = createHash('sha256');
  for (let pos = 0; pos < size; pos += chunk) h.update(patternBytes(seed, pos, Math.min(chunk, size - pos)));
  return h.digest('hex');
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

/** Read a (small) stream fully. */
export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** sha256 and length of a stream, consumed chunk by chunk. */
export async function hashStream(body: Readable): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of body) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

/** A Readable that yields `data` and then fails (a producer dying mid-upload). */
export function failingStream(data: Buffer, error = new Error('producer died')): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(data);
      } else {
        this.destroy(error);
      }
    },
  });
}
