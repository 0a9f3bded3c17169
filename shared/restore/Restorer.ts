/**
 * Executes restore requests. Algorithm: (1) scan: open every archive's index (tail reads only)
 * and head every plain object, to know the files and bytes to come and which target paths are
 * claimed twice; (2) restore groups in parallel (p-limit), each archive's members one after
 * another in offset order through a ForwardRangeReader, so only the frames covering the wanted
 * members are fetched and no byte is fetched twice. Indexes found in (1) are kept for (2) up to a
 * budget of manifest entries; past it an archive's index is released after the scan and read
 * again at its turn, so memory is bounded by the budget and the archives in flight, not by the
 * number of archives selected. Each file is first compared with what the target holds: identical
 * files are skipped, different ones are conflicts unless `overwrite`. One bad member or object
 * fails alone; the summary lists every outcome.
 */
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import { ArchiveReader, readArchiveStream, readSeekTable, validateMemberName, type ManifestObject, type SeekTable } from '../archive';
import { S3RangeReader, SHA256_METADATA_KEY, type ObjectStore } from '../storage';
import { ForwardRangeReader } from './ForwardRangeReader';
import type { ArchiveRequest, KnownMemberInfo, MemberRequest, ObjectRequest, RestoreRequest } from './plan';
import { readKnownMember } from './readKnownMember';
import { ConcurrentWrites } from './ConcurrentWrites';
import type { RestoreTarget, TargetFile } from './targets/port';

export interface RestorerOptions {
  /** The object store holding a bucket (by its region when known). */
  storeFor: (where: { bucket: string; region?: string }) => ObjectStore;
  target: RestoreTarget;
  /** Replace different existing files (default: refuse, report a conflict). */
  overwrite?: boolean;
  /** Archives/objects restored at once (default 4). */
  concurrency?: number;
  /**
   * Manifest entries kept in memory from the scan to the restore (default 100,000, roughly
   * 100-200 MB). Archives past it have their index read twice (a small tail read each).
   */
  retainEntries?: number;
  onProgress?: (p: RestoreProgress) => void;
}

/** Live counters for a progress bar. */
export interface RestoreProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export type OutcomeStatus = 'restored' | 'identical' | 'conflict' | 'failed';

export interface RestoreOutcome {
  path: string;
  source: string;
  status: OutcomeStatus;
  size: number;
  error?: string;
}

export interface RestoreSummary {
  outcomes: RestoreOutcome[];
  restored: number;
  identical: number;
  conflicts: number;
  failed: number;
  /** Bytes written to the target. */
  bytesWritten: number;
  /** Bytes fetched from archives (index + covering frames) and plain objects. */
  bytesRead: number;
  /** Total size of the archives touched. */
  archiveBytes: number;
  archives: number;
}

interface Job {
  file: TargetFile;
  source: string;
  open: () => Promise<Readable>;
}

interface Group {
  jobs: Job[];
  /** Manifest entries this group holds in memory (all of its archive's when it read the manifest). */
  entries: number;
  /** Set when most of the archive is wanted: one streaming GET instead of ranged reads. */
  stream?: (each: (job: Job, body?: Readable | Buffer) => Promise<RestoreOutcome>) => Promise<RestoreOutcome[]>;
  failed: RestoreOutcome[];
  fetched: () => number;
  archiveBytes: number;
}

function fileOf(m: ManifestObject, path: string): TargetFile {
  return {
    path,
    size: m.size,
    sha256: m.sha256,
    ...(m.content_type !== undefined && { contentType: m.content_type }),
    metadata: m.metadata,
    tags: m.tags,
    ...(m.last_modified !== undefined && { lastModified: m.last_modified }),
  };
}

/** Above this share of the archive's compressed bytes, stream the whole archive instead of ranged reads. */
const STREAM_THRESHOLD = 0.5;
/** Streamed files up to this size are read whole and written concurrently with the stream. */
const SMALL_FILE_BYTES = 1024 * 1024;
/** At most this many such files in flight, holding at most SMALL_FILE_BUFFER_BYTES. */
const SMALL_FILE_WRITES = 16;
const SMALL_FILE_BUFFER_BYTES = 32 * 1024 * 1024;

/** A member's bytes read whole; a read error comes out of a stream instead (so the file fails alone, as a streamed one would). */
async function bufferBody(body: Readable): Promise<Buffer | Readable> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of body) chunks.push(c as Buffer);
  } catch (err) {
    return new Readable({
      read() {
        this.destroy(err instanceof Error ? err : new Error(String(err)));
      },
    });
  }
  // A chunk that is a view into a larger decompressed frame is copied: held by a write in flight,
  // the view would keep the whole frame alive, outside the byte budget.
  const only = chunks.length === 1 ? chunks[0]! : undefined;
  return only && only.buffer.byteLength <= 2 * only.length ? only : Buffer.concat(chunks);
}

/** Compressed bytes of the frames covering the members (each frame counted once). */
function coveredBytes(table: SeekTable, members: readonly ManifestObject[]): number {
  const frames = new Set<number>();
  let i = 0;
  for (const m of members) {
    // members are sorted by offset: walk the frames forward
    while (i < table.frames.length && table.frames[i]!.decompressedOffset + table.frames[i]!.decompressedSize <= m.header_offset) i++;
    for (let k = i; k < table.frames.length && table.frames[k]!.decompressedOffset < m.offset + m.size; k++) frames.add(k);
  }
  let n = 0;
  for (const k of frames) n += table.frames[k]!.compressedSize;
  return n;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Manifest entries kept from the scan to the restore by default (see RestorerOptions.retainEntries). */
const DEFAULT_RETAIN_ENTRIES = 100_000;

/** Restores everything requested into `opts.target`. Never throws for one file's failure. */
export async function runRestore(requests: readonly RestoreRequest[], opts: RestorerOptions): Promise<RestoreSummary> {
  const limit = pLimit(opts.concurrency ?? 4);
  const budget = opts.retainEntries ?? DEFAULT_RETAIN_ENTRIES;
  const open = (r: RestoreRequest): Promise<Group> => (r.kind === 'archive' ? openArchive(r, opts) : openObject(r, opts));
  const progress: RestoreProgress = { filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 };
  // Scan. Target paths claimed by more than one selected object: restored in parallel, one would
  // silently overwrite the other, so they all fail instead (each reported with its source).
  const claims = new Map<string, number>();
  const kept: (Group | undefined)[] = new Array<Group | undefined>(requests.length);
  let held = 0;
  let bytesRead = 0;
  let archiveBytes = 0;
  await Promise.all(
    requests.map((r, i) =>
      limit(async () => {
        const g = await open(r);
        for (const j of g.jobs) {
          claims.set(j.file.path, (claims.get(j.file.path) ?? 0) + 1);
          progress.bytesTotal += j.file.size;
        }
        progress.filesTotal += g.jobs.length;
        archiveBytes += g.archiveBytes;
        if (held + g.entries <= budget) {
          held += g.entries;
          kept[i] = g;
        } else {
          bytesRead += g.fetched(); // released: opened again at its turn
        }
      }),
    ),
  );
  opts.onProgress?.({ ...progress });
  const outcomes: RestoreOutcome[] = [];
  const each = async (job: Job, body?: Readable | Buffer): Promise<RestoreOutcome> => {
    const claimed = claims.get(job.file.path) ?? 1;
    const outcome: RestoreOutcome =
      claimed > 1
        ? { path: job.file.path, source: job.source, status: 'failed', size: job.file.size, error: `${claimed} selected objects map to this target path (each is reported); none of them was restored` }
        : await restoreOne(
            job,
            opts,
            (n) => {
              progress.bytesDone += n;
              opts.onProgress?.({ ...progress });
            },
            body,
          );
    if (outcome.status !== 'restored') progress.bytesDone += job.file.size;
    progress.filesDone++;
    opts.onProgress?.({ ...progress });
    return outcome;
  };
  await Promise.all(
    requests.map((r, i) =>
      limit(async () => {
        const g = kept[i] ?? (await open(r));
        kept[i] = undefined; // released as soon as this group is done
        outcomes.push(...g.failed);
        if (g.stream) outcomes.push(...(await g.stream(each)));
        else for (const job of g.jobs) outcomes.push(await each(job));
        bytesRead += g.fetched();
      }),
    ),
  );
  const count = (s: OutcomeStatus) => outcomes.filter((o) => o.status === s).length;
  return {
    outcomes: outcomes.sort((a, b) => a.path.localeCompare(b.path)),
    restored: count('restored'),
    identical: count('identical'),
    conflicts: count('conflict'),
    failed: count('failed'),
    bytesWritten: outcomes.filter((o) => o.status === 'restored').reduce((n, o) => n + o.size, 0),
    bytesRead,
    archiveBytes,
    archives: requests.filter((r) => r.kind === 'archive').length,
  };
}

async function restoreOne(job: Job, opts: RestorerOptions, onBytes: (n: number) => void, given?: Readable | Buffer): Promise<RestoreOutcome> {
  const base = { path: job.file.path, source: job.source, size: job.file.size };
  try {
    const state = await opts.target.check(job.file);
    if (state === 'identical') return { ...base, status: 'identical' };
    if (state === 'different' && !opts.overwrite) {
      return { ...base, status: 'conflict', error: `${opts.target.describe(job.file.path)} exists with different content (use --overwrite)` };
    }
    const body = given ?? (await job.open());
    if (Buffer.isBuffer(body)) {
      await opts.target.write(job.file, body);
      onBytes(body.length);
      return { ...base, status: 'restored' };
    }
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        onBytes(chunk.length);
        cb(null, chunk);
      },
    });
    const piping = pipeline(body, counter);
    // Wait for both sides: a failed write cleans up its partial file before we report.
    const [w, p] = await Promise.allSettled([opts.target.write(job.file, counter), piping]);
    if (w.status === 'rejected') throw w.reason;
    if (p.status === 'rejected') throw p.reason;
    return { ...base, status: 'restored' };
  } catch (err) {
    return { ...base, status: 'failed', error: message(err) };
  }
}

async function openArchive(r: ArchiveRequest, opts: RestorerOptions): Promise<Group> {
  const source = `s3://${r.bucket}/${r.key}`;
  const forward = new ForwardRangeReader(new S3RangeReader(opts.storeFor(r), r.bucket, r.key, r.versionId !== undefined ? { versionId: r.versionId } : {}));
  const reader = new ArchiveReader(forward, r.key.slice(r.key.lastIndexOf('/') + 1));
  const group: Group = { jobs: [], entries: 0, failed: [], fetched: () => forward.bytesFetched, archiveBytes: 0 };
  if (!opts.target.needsMetadata && r.members && r.members.length > 0 && r.members.every((m) => m.known)) {
    const fast = await openKnown(r, r.members, forward, reader, group, source);
    if (fast) return fast;
  }
  let manifest;
  let seekTable: SeekTable;
  try {
    group.archiveBytes = await forward.size();
    ({ manifest, seekTable } = await reader.readIndex());
  } catch (err) {
    for (const m of r.members ?? [{ path: r.key }]) group.failed.push({ path: m.path, source, status: 'failed', size: 0, error: message(err) });
    return group;
  }
  group.entries = manifest.objects.length;
  const byKey = new Map(manifest.objects.map((o) => [o.key, o]));
  const byRelative = new Map(manifest.objects.map((o) => [o.relative_key, o]));
  const wanted: MemberRequest[] = r.members ?? manifest.objects.map((o) => ({ objectPath: o.key, path: o.relative_key }));
  const jobs: { m: ManifestObject; job: Job }[] = [];
  for (const w of wanted) {
    const m = w.objectPath !== undefined ? byKey.get(w.objectPath) : byRelative.get(w.relativeKey ?? '');
    if (!m) {
      group.failed.push({ path: w.path, source, status: 'failed', size: 0, error: `${w.objectPath ?? w.relativeKey} is not in the archive's manifest` });
      continue;
    }
    try {
      validateMemberName(w.path);
    } catch (err) {
      group.failed.push({ path: w.path, source, status: 'failed', size: m.size, error: message(err) });
      continue;
    }
    jobs.push({ m, job: { file: fileOf(m, w.path), source: `${source}#${m.relative_key}`, open: () => reader.openMember(m.relative_key) } });
  }
  jobs.sort((a, b) => a.m.offset - b.m.offset);
  group.jobs = jobs.map((j) => j.job);
  if (jobs.length > 1 && coveredBytes(seekTable, jobs.map((j) => j.m)) > STREAM_THRESHOLD * seekTable.compressedSize) {
    // Most frames are needed anyway: one sequential GET, decompressed once, verified against the
    // manifest. Members after damage fall back to ranged reads (only damaged frames then fail).
    let streamed = 0;
    const store = opts.storeFor(r);
    group.fetched = () => forward.bytesFetched + streamed;
    group.stream = async (each) => {
      const outcomes: RestoreOutcome[] = [];
      const writes = new ConcurrentWrites(SMALL_FILE_WRITES, SMALL_FILE_BUFFER_BYTES);
      const pending = new Map(jobs.map((j) => [j.m.relative_key, j.job]));
      let held: { key: string; job: Job; data: Buffer; release: () => void } | undefined;
      const handOver = async (): Promise<void> => {
        if (!held) return;
        const { job, data, release } = held;
        held = undefined;
        await writes.add(job.file.size, async () => {
          try {
            outcomes.push(await each(job, data));
          } finally {
            release();
          }
        });
      };
      try {
        const { body } = await store.get(r.bucket, r.key, r.versionId !== undefined ? { versionId: r.versionId } : {});
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            streamed += chunk.length;
            cb(null, chunk);
          },
        });
        pipeline(body, counter).catch(() => undefined);
        // With the seek table the frames decode on worker threads (which also hash the members
        // inside them); a small member's bytes are then lent straight from its decoded frame.
        for await (const entry of readArchiveStream(counter, { manifest, seekTable, archiveName: reader.archiveName })) {
          await handOver();
          const job = pending.get(entry.relativeKey);
          if (!job) continue;
          pending.delete(entry.relativeKey);
          if (job.file.size > SMALL_FILE_BYTES) {
            outcomes.push(await each(job, entry.body));
            continue;
          }
          if (entry.borrow && opts.target.acceptsBorrowedBuffers) {
            // Verified only once the stream moves past it: written at the next entry (handOver).
            const b = entry.borrow();
            held = { key: entry.relativeKey, job, data: b.data, release: b.release };
            continue;
          }
          // A small file is read whole (verified by the stream) and written while the stream
          // moves on: per-file target work (create, write, utimes, rename) then overlaps.
          const buffered = await bufferBody(entry.body);
          await writes.add(job.file.size, async () => {
            outcomes.push(await each(job, buffered));
          });
        }
        await handOver();
      } catch {
        // The member being read has its outcome already; the rest go through ranged reads, and
        // so does a lent member the stream failed before vouching for.
        if (held) {
          pending.set(held.key, held.job);
          held.release();
          held = undefined;
        }
      }
      await writes.settle();
      for (const job of pending.values()) outcomes.push(await each(job));
      return outcomes;
    };
  }
  return group;
}

/**
 * Catalog-informed members: only the seek table and the covering frames are read, never the
 * manifest. Undefined when most of the archive is wanted anyway (then the manifest path streams).
 * A catalog row that disagrees with the archive fails that member's sha256 check (nothing written).
 */
async function openKnown(r: ArchiveRequest, members: MemberRequest[], forward: ForwardRangeReader, reader: ArchiveReader, group: Group, source: string): Promise<Group | undefined> {
  let table: SeekTable;
  try {
    group.archiveBytes = await forward.size();
    table = await readSeekTable(forward, reader.archiveName);
  } catch (err) {
    for (const m of members) group.failed.push({ path: m.path, source, status: 'failed', size: 0, error: message(err) });
    return group;
  }
  const items: { m: MemberRequest; k: KnownMemberInfo }[] = [];
  for (const m of members) {
    try {
      validateMemberName(m.path);
      items.push({ m, k: m.known! });
    } catch (err) {
      group.failed.push({ path: m.path, source, status: 'failed', size: m.known!.size, error: message(err) });
    }
  }
  items.sort((a, b) => a.k.offset - b.k.offset);
  const spans = items.map((i) => ({ header_offset: i.k.offset, offset: i.k.offset, size: i.k.size }) as ManifestObject);
  if (items.length > 1 && coveredBytes(table, spans) > STREAM_THRESHOLD * table.compressedSize) return undefined;
  group.entries = items.length;
  group.jobs = items.map(({ m, k }) => ({
    file: { path: m.path, size: k.size, sha256: k.sha256, metadata: {}, ...(k.contentType && { contentType: k.contentType }), ...(k.lastModified && { lastModified: k.lastModified }) },
    source: `${source}#${m.objectPath ?? m.relativeKey}`,
    open: async () => Readable.from(readKnownMember(forward, table, k, { ...(reader.archiveName !== undefined && { archive: reader.archiveName }), member: m.objectPath ?? m.path })),
  }));
  return group;
}

async function openObject(r: ObjectRequest, opts: RestorerOptions): Promise<Group> {
  const store = opts.storeFor(r);
  const source = `s3://${r.bucket}/${r.key}`;
  let fetched = 0;
  const group: Group = { jobs: [], entries: 1, failed: [], fetched: () => fetched, archiveBytes: 0 };
  try {
    validateMemberName(r.path);
    const info = await store.head(r.bucket, r.key, { withTags: true });
    const sha256 = info.sha256;
    if (!sha256) throw new Error(`${source} has no recorded sha256 (${SHA256_METADATA_KEY}); cannot verify it`);
    const metadata = { ...info.metadata };
    group.jobs.push({
      file: {
        path: r.path,
        size: info.size,
        sha256,
        ...(info.contentType !== undefined && { contentType: info.contentType }),
        metadata,
        ...(info.tags && { tags: info.tags }),
        lastModified: info.lastModified.toISOString(),
      },
      source,
      open: async () => {
        const { body } = await store.get(r.bucket, r.key, { ifMatch: info.etag });
        body.on('data', (c: Buffer) => {
          fetched += c.length;
        });
        return body;
      },
    });
  } catch (err) {
    group.failed.push({ path: r.path, source, status: 'failed', size: 0, error: message(err) });
  }
  return group;
}
