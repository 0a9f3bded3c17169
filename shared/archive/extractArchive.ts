/**
 * Extraction of every member of one of our archives at the machine's pace: frames decode in
 * parallel on worker threads (which also hash the members inside them), the main thread walks
 * the tar headers and checks each member against the manifest, and small files are created in
 * batches on writer threads straight from the decoded frame (no copy).
 *
 * The guarantee stays the sequential reader's: a member is handed to a writer only once the
 * entry stream has moved past it, which it does only after the member's size and sha256 matched
 * the manifest (the worker's digest counts only for the exact bytes its tar header gives it). A
 * member whose bytes span frames is staged through its body stream and renamed after its end
 * verified, as before.
 */
import type { ExtractOutput } from './ExtractOutput';
import type { FrameDecoderPool } from './FrameDecoderPool';
import type { Manifest } from './manifest';
import type { RangeReader } from './RangeReader';
import { readArchive } from './readArchiveStream';
import { readSeekTable, type SeekTable } from './seekTable';

/** Options of extractArchive. */
export interface ExtractArchiveOptions {
  /** The archive's manifest (ArchiveReader.readIndex): every member is verified against it. */
  manifest: Manifest;
  /** Its seek table, when already read (else one tail read). */
  seekTable?: SeekTable;
  archiveName?: string;
  decoders?: FrameDecoderPool;
  /** Called as each member has been handed over for writing. */
  onFile?: () => void;
}

/** Extracts every member into `out` (call out.discard() on failure); resolves once every file is in place. */
export async function extractArchive(out: ExtractOutput, reader: RangeReader, opts: ExtractArchiveOptions): Promise<void> {
  const seekTable = opts.seekTable ?? (await readSeekTable(reader, opts.archiveName));
  // The member read last, held until the stream moves past it (that is when it counts as verified).
  let held: { key: string; data: Buffer; release: () => void } | undefined;
  const handOver = async (): Promise<void> => {
    if (!held) return;
    const h = held;
    held = undefined;
    await out.write(h.key, h.data, h.release);
    opts.onFile?.();
  };
  const entries = readArchive(reader, {
    manifest: opts.manifest,
    seekTable,
    ...(opts.archiveName !== undefined && { archiveName: opts.archiveName }),
    ...(opts.decoders && { decoders: opts.decoders }),
  });
  try {
    for await (const e of entries) {
      await handOver();
      if (e.borrow) {
        const b = e.borrow();
        held = { key: e.relativeKey, data: b.data, release: b.release };
        continue;
      }
      // Spans frames (or is empty): its body errors at its end on a mismatch, before the commit.
      await out.commit(await out.stage(e.relativeKey, e.body));
      opts.onFile?.();
    }
    await handOver();
    await out.flush();
  } finally {
    held?.release();
  }
}
