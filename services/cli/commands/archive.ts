/**
 * `xregion archive create|list|extract|cat`: the seekable .tar.zst format from the command line.
 * The actions; ./archiveCommand registers them and loads this module only when one runs.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  ArchiveCorruptError,
  ArchiveReader,
  ExtractOutput,
  extractArchive,
  LocalFileRangeReader,
  packFilesSummary,
  prewarmArchiveWriter,
  readArchiveStream,
  relativeKeyOf,
  walkFiles,
  type Manifest,
  type StagedFile,
} from '../../../shared/archive';

/** A progress bar on stderr, only when stderr is a terminal. */
function progress(total: number, unit: string): { tick: (n?: number) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { tick: () => undefined, stop: () => undefined };
  // Loaded only for a terminal: it adds ~8 ms to every start otherwise.
  const { SingleBar } = require('cli-progress') as typeof import('cli-progress');
  const bar = new SingleBar({ stream: process.stderr, format: ` {bar} {value}/{total} ${unit} | {eta_formatted}`, hideCursor: true });
  bar.start(total, 0);
  return { tick: (n = 1) => bar.increment(n), stop: () => bar.stop() };
}

async function create(dir: string, opts: { output: string; level: number; threads: number; frameTarget?: number }): Promise<void> {
  const compression = { level: opts.level, threads: opts.threads, ...(opts.frameTarget !== undefined && { frameTargetBytes: opts.frameTarget }) };
  prewarmArchiveWriter(compression); // the workers boot while the directory is listed
  // Files stream from the walk: no per-file list held (200,000 files cost ~40 MB as objects). A
  // terminal's progress bar needs the total first: one more walk, names only.
  let total = 0;
  if (process.stderr.isTTY) for (const _ of walkFiles(dir)) total++;
  const tmp = `${opts.output}.partial`;
  const bar = progress(total, 'files');
  try {
    const { summary: manifest, writer } = await packFilesSummary(
      walkFiles(dir),
      createWriteStream(tmp),
      {
        archiveName: basename(opts.output),
        source: { region: 'local', bucket: 'local', prefix: dir },
        ...compression,
      },
      () => bar.tick(),
    );
    await rename(tmp, opts.output);
    bar.stop();
    const s = writer.stats;
    process.stderr.write(
      `${opts.output}: ${manifest.objectCount} files, ${s.bytesIn} → ${s.bytesOut} bytes (ratio ${(s.bytesIn / Math.max(1, s.bytesOut)).toFixed(2)}), ${s.frames} frames\n`,
    );
    // As tar does for a file that vanished while it ran: the archive is complete and says so in
    // its manifest, and the exit code is 1.
    for (const k of manifest.skipped) process.stderr.write(`skipped: ${k.key}: ${k.reason}\n`);
    if (manifest.skipped.length > 0) process.exitCode = 1;
  } catch (err) {
    bar.stop();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function withReader<T>(file: string, fn: (r: ArchiveReader, size: number) => Promise<T>): Promise<T> {
  const rr = new LocalFileRangeReader(file);
  try {
    return await fn(new ArchiveReader(rr, basename(file)), await rr.size());
  } finally {
    await rr.close();
  }
}

async function list(file: string): Promise<void> {
  await withReader(file, async (r) => {
    const { manifest } = await r.readIndex();
    for (const o of manifest.objects) process.stdout.write(`${o.relative_key}\t${o.size}\t${o.sha256}\n`);
  });
}

async function cat(file: string, member: string, opts: { stats?: boolean }): Promise<void> {
  await withReader(file, async (r, size) => {
    const t0 = process.hrtime.bigint();
    await pipeline(await r.openMember(relativeKeyOf(member)), process.stdout, { end: false });
    if (opts.stats) {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const pct = ((100 * r.stats.bytesRead) / Math.max(1, size)).toFixed(2);
      process.stderr.write(`read ${r.stats.bytesRead} of ${size} bytes (${pct}%) in ${r.stats.reads} reads, ${ms.toFixed(1)} ms\n`);
    }
  });
}

/**
 * Extracts into `-C dir`. No path renames a byte into place before its member is verified
 * against the manifest's sha256 and size; on failure every temporary file and every folder the
 * run created (left empty) is removed. Files verified and renamed before the failure stay.
 */
async function extract(file: string, members: string[], opts: { directory: string }): Promise<void> {
  const out = await ExtractOutput.open(opts.directory);
  try {
    await extractInto(out, file, members);
  } catch (err) {
    await out.discard();
    throw err;
  }
}

async function extractInto(out: ExtractOutput, file: string, members: string[]): Promise<void> {
  // Our archives: read the index first so each member is verified before its file is renamed into
  // place. Named members are found through the member index (the seek table alone decides whether
  // the archive is seekable); all members need the whole manifest.
  let manifest: Manifest | undefined;
  try {
    manifest = await withReader(file, async (r) => (members.length > 0 ? void (await r.readSeekTable()) : (await r.readIndex()).manifest));
  } catch (err) {
    if (!(err instanceof ArchiveCorruptError && err.check === 'seek-table')) throw err;
    return extractSequentially(out, file, members);
  }
  if (members.length > 0 || !manifest) {
    const wanted = members.map(relativeKeyOf);
    await withReader(file, async (r) => {
      for (const key of wanted) await r.member(key); // fail before writing anything
      const bar = progress(wanted.length, 'files');
      for (const key of wanted) {
        // openMember's stream errors at its end on a sha256 mismatch, before the commit.
        await out.commit(await out.stage(key, await r.openMember(key)));
        bar.tick();
      }
      bar.stop();
    });
    return;
  }
  const bar = progress(manifest.objects.length, 'files');
  // Frames decoded in parallel; each member verified against the manifest before a writer gets it.
  await extractArchive(out, new LocalFileRangeReader(file), { manifest, archiveName: basename(file), onFile: () => bar.tick() });
  bar.stop();
}

/**
 * No usable seek table, so no manifest up front: a stock `tar | zstd` archive, or ours damaged at
 * the tail. Ours can be verified only once its manifest.json, the last member, has arrived, so
 * every file is staged and renamed only after the whole stream has decoded (zstd checksums) and,
 * if it turned out to be ours, matched its manifest.json and seek table.
 */
async function extractSequentially(out: ExtractOutput, file: string, members: string[]): Promise<void> {
  const wanted = members.length > 0 ? new Set(members.map(relativeKeyOf)) : undefined;
  const bar = progress(0, 'files');
  const staged: StagedFile[] = [];
  const found = new Set<string>();
  for await (const e of readArchiveStream(createReadStream(file, { highWaterMark: 1024 * 1024 }), { archiveName: basename(file) })) {
    if (wanted && !wanted.has(e.relativeKey)) continue;
    found.add(e.relativeKey);
    staged.push(await out.stage(e.relativeKey, e.body));
    bar.tick();
  }
  bar.stop();
  const missing = wanted ? [...wanted].filter((k) => !found.has(k)) : [];
  if (missing.length > 0) throw new Error(`${basename(file)}: no member ${missing.map((m) => JSON.stringify(m)).join(', ')}`);
  for (const f of staged) await out.commit(f);
}

export { cat, create, extract, list };
