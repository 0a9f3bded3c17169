/**
 * Streaming zstd decompression that tracks frame boundaries, so an error (corrupt block, bad
 * content checksum, truncation) is raised exactly where it happens in the uncompressed stream and
 * can be attributed to the members of the failing frame.
 */
import type { Readable } from 'node:stream';
import { DCtx, dStreamOutSize, findFrameCompressedSize, getFrameContentSize } from 'zstd-napi/binding';
import { contentChecksumOf, type FrameFacts } from './seekFrame';

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

/** One frame as the decoder consumed it: a zstd frame's facts, or a skippable frame's bytes. */
export type FrameEnd = ({ kind: 'zstd' } & FrameFacts) | { kind: 'skippable'; compressedSize: number; bytes: Buffer | undefined };

/** Skippable frames' magic numbers are 0x184D2A50..0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_START = 0x184d2a50;
/** Bytes a seek-table entry takes (with checksums) plus the skippable frame's header and the footer. */
const SEEK_ENTRY_BYTES = 12;
const SEEK_FRAME_OVERHEAD = 8 + 9;

/**
 * Decompresses `input` (any number of frames, skippable frames ignored), yielding output chunks.
 * `onFrame` hears of each frame as it ends (its compressed and decompressed sizes and content
 * checksum, or a skippable frame's bytes when it is small enough to be a seek table for the
 * frames before it), so a caller can hold the stream to its seek table.
 */
export async function* decompressFrames(input: Readable, state: DecompressState, onFrame?: (f: FrameEnd) => void): AsyncGenerator<Buffer> {
  const dctx = new DCtx();
  const outSize = dStreamOutSize();
  let inFrame = false;
  // Compressed bytes of the current frame, kept (bounded) only to name the member a failing frame holds.
  let frameChunks: Buffer[] | undefined = [];
  let frameBytes = 0;
  // The current frame as consumed so far (every decompressStream call stays within one frame).
  let consumedInFrame = 0;
  let zstdFrames = 0;
  const head = Buffer.alloc(8);
  const last4 = Buffer.alloc(4);
  let skipParts: Buffer[] | undefined;
  const note = (consumed: Buffer): void => {
    if (consumedInFrame < head.length) consumed.copy(head, consumedInFrame, 0, head.length - consumedInFrame);
    const before = consumedInFrame;
    consumedInFrame += consumed.length;
    // Rolling last 4 bytes: the content checksum once the frame ends.
    if (consumed.length >= 4) consumed.copy(last4, 0, consumed.length - 4);
    else if (consumed.length > 0) {
      last4.copy(last4, 0, consumed.length);
      consumed.copy(last4, 4 - consumed.length);
    }
    if (before < 8 && consumedInFrame >= 8 && (head.readUInt32LE(0) & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_START) {
      // Only a skippable frame that could be a seek table for the frames seen is kept (bounded memory).
      const declared = head.readUInt32LE(4);
      skipParts = declared <= SEEK_ENTRY_BYTES * zstdFrames + SEEK_FRAME_OVERHEAD - 8 ? [] : undefined;
      skipParts?.push(Buffer.from(head), Buffer.from(consumed.subarray(8 - before)));
    } else if (before >= 8) skipParts?.push(Buffer.from(consumed));
  };
  const frameEnded = (): void => {
    const skippable = consumedInFrame >= 8 && (head.readUInt32LE(0) & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_START;
    if (skippable) onFrame?.({ kind: 'skippable', compressedSize: consumedInFrame, bytes: skipParts && Buffer.concat(skipParts) });
    else {
      zstdFrames++;
      onFrame?.({
        kind: 'zstd',
        compressedSize: consumedInFrame,
        decompressedSize: state.position - state.frameStart,
        contentChecksum: contentChecksumOf(consumedInFrame >= 9 ? head : Buffer.alloc(0), last4),
      });
    }
    consumedInFrame = 0;
    skipParts = undefined;
  };
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
      note(src.subarray(0, consumed));
      src = src.subarray(consumed);
      state.position += produced;
      if (produced > 0) yield dst.subarray(0, produced);
      inFrame = ret !== 0;
      if (!inFrame) {
        frameEnded();
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
