/**
 * Streaming zstd decompression that tracks frame boundaries, so an error (corrupt block, bad
 * content checksum, truncation) is raised exactly where it happens in the uncompressed stream and
 * can be attributed to the members of the failing frame.
 */
import type { Readable } from 'node:stream';
import { DCtx, dStreamOutSize, findFrameCompressedSize, getFrameContentSize } from 'zstd-napi/binding';

/** Frames larger than this are not buffered for error attribution. */
const MAX_SALVAGE_BYTES = 40 * 1024 * 1024;

/** Where decompression stands; read by the caller to attribute errors. */
export interface DecompressState {
  /** Uncompressed bytes produced so far. */
  position: number;
  /** Uncompressed offset where the current (possibly failing) frame starts. */
  frameStart: number;
}

/** A zstd error at a known point of the stream. */
export class ZstdStreamError extends Error {
  constructor(
    message: string,
    readonly truncated: boolean,
    options?: { cause?: unknown },
    /** Start of the failing frame's content, decoded without checksum verification when possible. */
    readonly salvage?: Buffer,
  ) {
    super(message, options);
    this.name = 'ZstdStreamError';
  }
}

/** Decompresses `input` (any number of frames, skippable frames ignored), yielding output chunks. */
export async function* decompressFrames(input: Readable, state: DecompressState): AsyncGenerator<Buffer> {
  const dctx = new DCtx();
  const outSize = dStreamOutSize();
  let inFrame = false;
  // Compressed bytes of the current frame, kept (bounded) only to name the member a failing frame holds.
  let frameChunks: Buffer[] | undefined = [];
  let frameBytes = 0;
  for await (const chunk of input) {
    let src = chunk as Buffer;
    frameBytes += src.length;
    if (frameBytes > MAX_SALVAGE_BYTES) frameChunks = undefined;
    else frameChunks?.push(src);
    while (src.length > 0 || inFrame) {
      const dst = Buffer.allocUnsafe(outSize);
      let ret: number;
      let produced: number;
      let consumed: number;
      try {
        [ret, produced, consumed] = dctx.decompressStream(dst, src);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new ZstdStreamError(msg, false, { cause: err }, frameChunks && salvage(Buffer.concat(frameChunks)));
      }
      src = src.subarray(consumed);
      state.position += produced;
      if (produced > 0) yield dst.subarray(0, produced);
      inFrame = ret !== 0;
      if (!inFrame) {
        state.frameStart = state.position;
        frameChunks = [src];
        frameBytes = src.length;
      }
      // Needs more input to make progress.
      if (src.length === 0 && produced < outSize) break;
    }
  }
  if (inFrame) throw new ZstdStreamError('stream ends in the middle of a zstd frame', true);
}

/**
 * Decodes a frame whose content checksum failed, ignoring the checksum (flag cleared, trailing 4
 * bytes dropped), so the caller can read the tar header inside and name the damaged member.
 * Returns undefined when the frame itself is undecodable.
 */
function salvage(frame: Buffer): Buffer | undefined {
  try {
    const size = findFrameCompressedSize(frame);
    const content = getFrameContentSize(frame);
    if (content === null || content > MAX_SALVAGE_BYTES || (frame[4]! & 0x04) === 0) return undefined;
    const copy = Buffer.from(frame.subarray(0, size - 4));
    copy[4] = copy[4]! & ~0x04;
    const out = Buffer.allocUnsafe(content);
    const n = new DCtx().decompress(out, copy);
    return out.subarray(0, n);
  } catch {
    return undefined;
  }
}
