/**
 * One sequential pass over a whole .tar.zst stream: ours (verified against the manifest) or any
 * stock `tar -cf - . | zstd` archive (no manifest, nothing to verify against).
 *
 * Given the seek table up front (ours, read with ArchiveReader.readIndex), the frames are decoded
 * in parallel on worker threads and handed out in order (decodeFrames.ts), each checked against
 * its entry; with the manifest too, the workers also hash every member that lies wholly inside one
 * frame, so the main thread only parses tar headers and hashes members that span frames.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ByteSource } from './ByteSource';
import { decompressFrames, ZstdStreamError, type DecompressState } from './decompressFrames';
import { ArchiveCorruptError, ArchiveError } from './errors';
import { FrameLog } from './FrameLog';
import type { FrameDecoderPool } from './FrameDecoderPool';
import { manifestMemberAt, parallelChunks, type FrameRef } from './parallelChunks';
import type { RangeReader } from './RangeReader';
import type { SeekTable } from './seekTable';
import { MAX_MANIFEST_BYTES } from './limits';
import { looksLikeManifest, parseManifest, type Manifest, type ManifestObject } from './manifest';
import { MANIFEST_NAME, relativeKeyOf } from './memberName';
import { isRegularFile, readTarHeader } from './tarReader';
import { BLOCK, padding, parseHeaderBlock, parsePax } from './tarHeader';

const BODY_CHUNK = 1024 * 1024;

/** One regular-file member. Consume `body` before asking for the next entry, or it is skipped. */
export interface ArchiveEntry {
  /** Member name as stored (e.g. `objects/a/b.txt`, or `./a/b.txt` from stock tar). */
  name: string;
  /** Name without `objects/` (or a leading `./`). */
  relativeKey: string;
  size: number;
  /** Uncompressed offsets of the first header block and of the data. */
  headerOffset: number;
  offset: number;
  /** The manifest entry this member must match, when the manifest was given up front. */
  expected?: ManifestObject;
  /** The member's bytes; errors with ArchiveCorruptError at its end if its sha256/size disagree with the given manifest. */
  body: Readable;
  /**
   * Seek-table path only, when the member's bytes lie wholly in the frame at hand: those bytes as
   * a view of the decoded frame, without a copy, valid until `release()`. Call it before reading
   * `body` or asking for the next entry. The bytes are verified only once the iterator has moved
   * past this entry without throwing (it verifies what the consumer left unread).
   */
  borrow?: () => { data: Buffer; release: () => void };
}

/** The member whose header starts a frame's content (to name a member whose frame failed). */
function nameAtFrameStart(content: Buffer | undefined): string | undefined {
  if (!content || content.length < BLOCK) return undefined;
  try {
    const h = parseHeaderBlock(content.subarray(0, BLOCK));
    if (h.type !== 'x') return h.name;
    return parsePax(content.subarray(BLOCK, BLOCK + h.size)).path;
  } catch {
    return undefined;
  }
}

/** Options of readArchiveStream. */
export interface ReadArchiveStreamOptions {
  /** Manifest read beforehand (ArchiveReader.readIndex): every member is verified as it ends. */
  manifest?: Manifest;
  /** Archive name for error messages. */
  archiveName?: string;
  /**
   * The archive's seek table (ArchiveReader.readIndex): frames are then decoded in parallel on
   * `decoders` and each is checked against its entry; the input must hold exactly these frames
   * and then the seek table.
   */
  seekTable?: SeekTable;
  /** Decoder threads for the seek-table path (default: the process's shared pool). */
  decoders?: FrameDecoderPool;
}

/** A member's body, pulled from the shared decompressed stream on demand. */
class MemberBody extends Readable {
  private remaining: number;
  private inflight: Promise<void> | undefined;
  private abandoned = false;
  finished = false;

  constructor(
    private readonly src: ByteSource,
    size: number,
    private readonly onChunk: (b: Buffer) => void,
    private readonly onEnd: () => Error | undefined,
    private readonly onTruncated: () => Error,
    /** Push copies: the chunks are views of pooled frame buffers that will be reused. */
    private readonly copy = false,
  ) {
    super({ highWaterMark: BODY_CHUNK });
    this.remaining = size;
  }

  override _read(): void {
    if (this.abandoned) return;
    if (this.inflight) {
      // push() inside pull() may ask for more before pull() has returned: serve it right after,
      // or the stream would wait for a push that never comes.
      this.wanted = true;
      return;
    }
    this.inflight = this.pull().finally(() => {
      this.inflight = undefined;
      if (this.wanted && !this.finished) {
        this.wanted = false;
        this._read();
      }
    });
  }

  private wanted = false;

  private async pull(): Promise<void> {
    try {
      if (this.abandoned) return;
      if (this.remaining === 0) return this.end();
      const b = await this.src.readSome(Math.min(this.remaining, BODY_CHUNK));
      if (!b) throw this.onTruncated();
      this.remaining -= b.length;
      this.onChunk(b);
      this.push(this.copy ? Buffer.from(b) : b);
      if (this.remaining === 0) this.end();
    } catch (err) {
      this.finished = true;
      this.destroy(err as Error);
    }
  }

  private end(): void {
    this.finished = true;
    const err = this.onEnd();
    if (err) this.destroy(err);
    else this.push(null);
  }

  /** Reads and hashes what the consumer left unread; returns the end-of-member verdict. */
  async drain(): Promise<void> {
    while (this.inflight) await this.inflight;
    if (this.finished) return;
    this.abandoned = true;
    while (this.remaining > 0) {
      const b = await this.src.readSome(Math.min(this.remaining, BODY_CHUNK));
      if (!b) throw this.onTruncated();
      this.remaining -= b.length;
      this.onChunk(b);
    }
    this.finished = true;
    const err = this.onEnd();
    this.destroy();
    if (err) throw err;
  }
}

/** The sequence of entries; `manifest` is set once the embedded manifest.json has been read. */
export class ArchiveEntryStream implements AsyncIterable<ArchiveEntry> {
  manifest: Manifest | undefined;
  private started = false;

  constructor(
    private readonly input: Readable | { reader: RangeReader },
    private readonly opts: ReadArchiveStreamOptions = {},
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<ArchiveEntry> {
    if (this.started) throw new ArchiveError('an archive stream can be iterated only once');
    this.started = true;
    return this.entries();
  }

  private async *entries(): AsyncGenerator<ArchiveEntry> {
    const archive = this.opts.archiveName;
    const state: DecompressState = { position: 0, frameStart: 0 };
    const frames = new FrameLog();
    // sha256 of members wholly inside one frame, computed by the decoder workers, by data offset.
    const digestAt = new Map<number, string>();
    let currentFrame: FrameRef | undefined;
    const chunks = this.opts.seekTable
      ? parallelChunks('reader' in this.input ? this.input : { stream: this.input }, this.opts.seekTable, {
          archive,
          manifest: this.opts.manifest,
          decoders: this.opts.decoders,
          memberAt: (o) => memberAt(o) ?? culpritAt(o),
          state,
          digestAt,
          onFrame: (f) => (currentFrame = f),
        })
      : decompressFrames(this.readable(), state, (f) => frames.record(f));
    let member: string | undefined;
    // Every member's uncompressed span, in order: names the member a bad seek-table entry covers.
    const spans: { name: string; start: number; end: number }[] = [];
    const memberAt = (offset: number): string | undefined => {
      let lo = 0;
      let hi = spans.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (spans[mid]!.start <= offset) lo = mid;
        else hi = mid - 1;
      }
      const s = spans[lo];
      return s && s.start <= offset && offset < s.end ? s.name : undefined;
    };
    // Members whose bytes lie in the current frame: a zstd error is attributed to them.
    const recent: { name: string; end: number }[] = [];
    const expectedAt = manifestMemberAt(this.opts.manifest);
    const culpritAt = (offset: number): string | undefined => recent.find((m) => m.end > offset)?.name ?? expectedAt(offset) ?? member;
    const guarded: AsyncIterator<Buffer> = {
      next: async () => {
        try {
          return await chunks.next();
        } catch (err) {
          if (!(err instanceof ZstdStreamError)) throw err;
          const culprit = recent.find((m) => m.end > state.frameStart)?.name ?? nameAtFrameStart(err.salvage) ?? member;
          throw new ArchiveCorruptError(
            { archive, member: culprit, check: err.truncated ? 'truncated' : 'zstd' },
            `zstd: ${err.message} (frame at uncompressed offset ${state.frameStart})`,
            { cause: err },
          );
        }
      },
    };
    const src = new ByteSource(guarded);
    const expected = new Map<string, ManifestObject>();
    for (const o of this.opts.manifest?.objects ?? []) expected.set(o.relative_key, o);
    const seen = new Map<string, { sha256: string; size: number }>();
    const verify = (name: string, key: string, got: { sha256: string; size: number }, m: Map<string, ManifestObject>, source: string): Error | undefined => {
      const want = m.get(key);
      if (!want) return new ArchiveCorruptError({ archive, member: name, check: 'manifest' }, `member is not in the ${source}`);
      if (want.size !== got.size) {
        return new ArchiveCorruptError({ archive, member: name, check: 'size' }, `size mismatch (${source} ${want.size}, archive ${got.size})`);
      }
      if (want.sha256 !== got.sha256) {
        return new ArchiveCorruptError({ archive, member: name, check: 'sha256' }, `sha256 mismatch (${source} ${want.sha256}, computed ${got.sha256})`);
      }
      return undefined;
    };
    const checkAll = (m: Map<string, ManifestObject>, source: string): void => {
      for (const [key, got] of seen) {
        const err = verify(`objects/${key}`, key, got, m, source);
        if (err) throw err;
      }
      for (const key of m.keys()) {
        if (!seen.has(key)) throw new ArchiveCorruptError({ archive, member: `objects/${key}`, check: 'manifest' }, `member listed in the ${source} is missing from the archive`);
      }
    };

    try {
      for (;;) {
        member = undefined;
        const h = await readTarHeader(src, archive);
        if (!h) break;
        member = h.name;
        while (recent.length > 0 && recent[0]!.end <= state.frameStart) recent.shift();
        recent.push({ name: h.name, end: h.dataOffset + h.size + padding(h.size) });
        spans.push({ name: h.name, start: h.headerOffset, end: h.dataOffset + h.size + padding(h.size) });
        const truncated = (): Error => new ArchiveCorruptError({ archive, member: h.name, check: 'truncated' }, 'archive ends inside the member');
        if (h.name === MANIFEST_NAME && isRegularFile(h.type) && h.size <= MAX_MANIFEST_BYTES) {
          const data = await src.readExact(h.size);
          if (data.length < h.size || (await src.skip(padding(h.size))) < padding(h.size)) throw truncated();
          let raw: unknown;
          try {
            raw = JSON.parse(data.toString('utf8'));
          } catch {
            raw = undefined;
          }
          if (looksLikeManifest(raw)) {
            this.manifest = parseManifest(data.toString('utf8'), archive);
            continue;
          }
          // A user's own manifest.json in a stock archive: hand it out like any file.
          yield this.plainEntry(h, Readable.from([data]));
          continue;
        }
        if (!isRegularFile(h.type)) {
          if ((await src.skip(h.size + padding(h.size))) < h.size + padding(h.size)) throw truncated();
          continue;
        }
        if (this.manifest) throw new ArchiveCorruptError({ archive, member: h.name, check: 'manifest' }, 'member after manifest.json');
        const key = relativeKeyOf(h.name);
        if (seen.has(key) && (this.opts.manifest || h.name.startsWith('objects/'))) {
          throw new ArchiveCorruptError({ archive, member: h.name, check: 'manifest' }, 'duplicate member');
        }
        // The workers' digest counts only for the very bytes the tar header gives this member.
        const want = expected.get(key);
        const preDigest = (): string | undefined => (want && want.offset === h.dataOffset && want.size === h.size ? digestAt.get(h.dataOffset) : undefined);
        let hash: Hash | undefined;
        let pre: string | undefined;
        let started = false;
        const start = (): void => {
          started = true;
          pre = preDigest();
          if (pre === undefined) hash = createHash('sha256');
        };
        const body = new MemberBody(
          src,
          h.size,
          (b) => {
            if (!started) start();
            hash?.update(b);
          },
          () => {
            if (!started) start();
            digestAt.delete(h.dataOffset);
            const got = { sha256: pre ?? hash!.digest('hex'), size: h.size };
            hash = undefined;
            seen.set(key, got);
            return this.opts.manifest ? verify(h.name, key, got, expected, 'manifest') : undefined;
          },
          truncated,
          this.opts.seekTable !== undefined,
        );
        let bodyError: unknown;
        body.on('error', (err) => {
          bodyError ??= err;
        });
        const entry: ArchiveEntry = {
          name: h.name,
          relativeKey: key,
          size: h.size,
          headerOffset: h.headerOffset,
          offset: h.dataOffset,
          body,
          ...(expected.has(key) && { expected: expected.get(key) }),
        };
        const frame = currentFrame;
        if (frame && h.size > 0 && src.peek(h.size)) {
          entry.borrow = () => {
            const data = src.peek(h.size);
            if (!data || src.position !== h.dataOffset) throw new ArchiveError('borrow() is only valid before the body is read');
            return { data, release: frame.retain() };
          };
        }
        yield entry;
        await body.drain();
        if (bodyError) throw bodyError;
        if ((await src.skip(padding(h.size))) < padding(h.size)) throw truncated();
      }
      member = undefined;
      // Let zstd verify the remaining frames (end blocks, record padding) and the stream's end.
      while (await src.readSome(BODY_CHUNK));
      if (this.opts.manifest) checkAll(expected, 'manifest');
      if (this.manifest) {
        const embedded = new Map(this.manifest.objects.map((o) => [o.relative_key, o]));
        checkAll(embedded, 'manifest.json');
      }
      // Ours (a manifest): the seek table that ranged reads will trust must describe these very
      // frames. A stock `tar | zstd` stream has none to check.
      // With the seek table given, every frame was checked against it as it decoded, and the
      // input against its length (framesFromReader) or its streamed table (framesFromStream).
      if ((this.opts.manifest || this.manifest) && !this.opts.seekTable) frames.check(archive, memberAt);
    } finally {
      await chunks.return(undefined);
      if (!('reader' in this.input)) this.input.destroy();
    }
  }

  private readable(): Readable {
    // Without the seek table the stream decodes sequentially, on this thread.
    if ('reader' in this.input) throw new ArchiveError('a RangeReader is read only with its seek table (readArchive)');
    return this.input;
  }

  private plainEntry(h: { name: string; size: number; headerOffset: number; dataOffset: number }, body: Readable): ArchiveEntry {
    return { name: h.name, relativeKey: relativeKeyOf(h.name), size: h.size, headerOffset: h.headerOffset, offset: h.dataOffset, body };
  }
}

/**
 * Reads a whole archive stream sequentially. With `opts.manifest` every member is verified at
 * its end (the body stream errors before a consumer commits); the embedded manifest.json, when
 * present, is cross-checked against every member once it arrives (the iterator throws).
 */
export function readArchiveStream(input: Readable, opts?: ReadArchiveStreamOptions): ArchiveEntryStream {
  return new ArchiveEntryStream(input, opts);
}

/**
 * The same pass over an archive read through a RangeReader (a local file, an S3 object): large
 * positional reads, frames decoded in parallel, in order, each checked against `seekTable`.
 */
export function readArchive(reader: RangeReader, opts: ReadArchiveStreamOptions & { seekTable: SeekTable }): ArchiveEntryStream {
  return new ArchiveEntryStream({ reader }, opts);
}
