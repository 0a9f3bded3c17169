/**
 * `npm run bench:restore`: restores from a ~1 GB (uncompressed) seekable archive.
 *  1. one small file by ranged reads of its frames vs downloading (streaming) the whole archive;
 *  2. bulk restore of every member (runRestore, verified) vs `zstd -d -c | tar -x` of the same file.
 * The corpus and archive live under bench/.corpus (git-ignored) and are reused across runs.
 * BENCH_SCALE (default 5 ≈ 1 GB) sizes the corpus.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { listFiles, packFiles, readArchiveStream, ArchiveReader, LocalFileRangeReader } from '../shared/archive';
import { catalogRows } from '../shared/catalog';
import { DirectoryTarget, runRestore } from '../shared/restore';
import { LocalObjectStore } from '../shared/storage';
import { generateCorpus } from './corpus';

// As the CLI does (services/cli/main.ts): restores keep many small file operations in flight.
process.env.UV_THREADPOOL_SIZE ??= '16';

const ROOT = join(__dirname, '.corpus');
const SCALE = Number(process.env.BENCH_SCALE ?? 5);
const BUCKET = 'bench-backup';

const mb = (n: number) => (n / 1e6).toFixed(1);
/** Interleaved runs of the bulk restore and of the stock tools (medians are reported). */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const secs = (ms: number) => (ms / 1000).toFixed(2);

async function main(): Promise<void> {
  const corpus = await generateCorpus(join(ROOT, `office-s42-x${SCALE}`), { seed: 42, scale: SCALE });
  const storeRoot = join(ROOT, 'restore-store');
  const key = `restore-x${SCALE}.tar.zst`;
  const store = new LocalObjectStore({ root: storeRoot });
  await store.ensureBucket(BUCKET);
  const archive = join(ROOT, key);
  if (!existsSync(archive)) {
    const files = await listFiles(corpus.dir);
    const t = Date.now();
    await packFiles(files.filter((f) => !f.relativeKey.startsWith('.corpus')), createWriteStream(archive), { archiveName: key, source: { region: 'local', bucket: 'bench', prefix: '' }, level: 3 });
    process.stderr.write(`packed ${files.length} files in ${secs(Date.now() - t)} s\n`);
  }
  // Through put(), so the store records its ETag and sha256 once (as the router's copy does).
  if (!(await store.head(BUCKET, key).then(() => true, () => false))) await store.put(BUCKET, key, createReadStream(archive));
  const size = statSync(archive).size;
  const rr = new LocalFileRangeReader(archive);
  const { manifest, seekTable } = await new ArchiveReader(rr).readIndex();
  await rr.close();
  const uncompressed = manifest.objects.reduce((n, o) => n + o.size, 0);
  // A small file in the middle of the archive.
  const small = manifest.objects.filter((o) => o.size > 1000 && o.size < 20_000)[Math.floor(manifest.objects.length / 4)]!;
  const out = join(ROOT, 'restore-out');
  rmSync(out, { recursive: true, force: true });

  // 1a. one file by its catalog row (`--object-path`): seek table + the covering frames
  const [row] = catalogRows({ ...manifest, objects: [small] }, { backupRegion: 'local', archiveKey: key, targetBuckets: [BUCKET] });
  let t = Date.now();
  const byRow = await runRestore(
    [{ kind: 'archive', bucket: BUCKET, key, members: [{ objectPath: row!.object_path, path: 'row/' + small.relative_key, known: { offset: row!.member_offset, size: row!.member_size, sha256: row!.sha256 } }] }],
    { storeFor: () => store, target: new DirectoryTarget(out) },
  );
  const rowMs = Date.now() - t;
  if (byRow.restored !== 1) throw new Error(`catalog-row restore failed: ${JSON.stringify(byRow.outcomes)}`);
  // 1b. one file by archive + key: seek table, manifest, the covering frames
  t = Date.now();
  const one = await runRestore([{ kind: 'archive', bucket: BUCKET, key, members: [{ relativeKey: small.relative_key, path: 'one/' + small.relative_key }] }], { storeFor: () => store, target: new DirectoryTarget(out) });
  const rangedMs = Date.now() - t;
  if (one.restored !== 1) throw new Error(`single restore failed: ${JSON.stringify(one.outcomes)}`);
  // 1c. the same file by downloading the whole archive (what a non-seekable archive needs)
  t = Date.now();
  const { body } = await store.get(BUCKET, key);
  let streamed = 0;
  const counted = body.pipe(new PassThrough());
  body.on('data', (c: Buffer) => (streamed += c.length));
  for await (const e of readArchiveStream(counted, { archiveName: key })) {
    for await (const _ of e.body);
  }
  const wholeMs = Date.now() - t;

  // 2. bulk restore with runRestore (verified) vs the stock tools, interleaved, medians
  const bulkRuns: number[] = [];
  const tarRuns: number[] = [];
  let bulk: Awaited<ReturnType<typeof runRestore>> | undefined;
  const tarDir = join(out, 'tar');
  for (let i = 0; i < RUNS; i++) {
    rmSync(join(out, 'bulk'), { recursive: true, force: true });
    t = Date.now();
    bulk = await runRestore([{ kind: 'archive', bucket: BUCKET, key }], { storeFor: () => store, target: new DirectoryTarget(join(out, 'bulk')) });
    bulkRuns.push(Date.now() - t);
    if (bulk.failed > 0) throw new Error(`bulk restore: ${bulk.failed} failed`);
    rmSync(tarDir, { recursive: true, force: true });
    mkdirSync(tarDir, { recursive: true });
    t = Date.now();
    execFileSync('sh', ['-c', `zstd -d -c "${archive}" | tar -x -C "${tarDir}"`], { stdio: 'inherit' });
    tarRuns.push(Date.now() - t);
  }
  const bulkMs = median(bulkRuns);
  const tarMs = median(tarRuns);
  rmSync(out, { recursive: true, force: true });

  const rows = [
    `Archive: ${mb(size)} MB compressed, ${mb(uncompressed)} MB in ${manifest.objects.length} files, ${seekTable.frames.length} frames (\`BENCH_SCALE=${SCALE} npm run bench:restore\`, 2-core VM, local store)`,
    '',
    '| task | method | bytes read | share of archive | time | throughput |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    `| one ${small.size}-byte file | catalog row → seek table + covering frames (\`xregion restore --object-path …\`) | ${byRow.bytesRead} | ${((100 * byRow.bytesRead) / size).toFixed(3)}% | ${secs(rowMs)} s | — |`,
    `| one ${small.size}-byte file | seek table + manifest + covering frames (\`xregion restore --archive … --key …\`) | ${one.bytesRead} | ${((100 * one.bytesRead) / size).toFixed(3)}% | ${secs(rangedMs)} s | — |`,
    `| one ${small.size}-byte file | download the whole archive, extract it | ${streamed} | ${((100 * streamed) / size).toFixed(1)}% | ${secs(wholeMs)} s | — |`,
    `| every file | \`runRestore\` (sha256-verified, atomic writes), median of ${RUNS} | ${bulk!.bytesRead} | ${((100 * bulk!.bytesRead) / size).toFixed(1)}% | ${secs(bulkMs)} s | ${mb((uncompressed / bulkMs) * 1000)} MB/s |`,
    `| every file | \`zstd -d -c | tar -x\`, median of ${RUNS} (interleaved) | ${size} | 100% | ${secs(tarMs)} s | ${mb((uncompressed / tarMs) * 1000)} MB/s |`,
    '',
    `Bulk restore ÷ stock tools: ${(tarMs / bulkMs).toFixed(2)} (target ≥ 0.9); runs: runRestore ${bulkRuns.map(secs).join(' ')} s, tar ${tarRuns.map(secs).join(' ')} s; load average ${loadavg()[0]!.toFixed(2)} at the end.`,
  ];
  process.stdout.write(`${rows.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
