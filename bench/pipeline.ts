/**
 * `npm run bench:pipeline` — the whole local pipeline (source bucket → compressor → local
 * replication → routers → a backup and a normal destination) on the embedded default, against
 * the archive engine alone (`packFiles`) on the very same files. Each side runs in its own child
 * process so its peak RSS is its own. Prints a markdown table.
 *
 * A second table times a plain `xregion start` (the CLI, in a child process) delivering files
 * already in the source bucket folder, against stock tools doing the same delivery
 * (`cp -r` + `tar | zstd -3 -T2` + `cp -r` + `cp`), interleaved, medians of `--runs`.
 *
 *   npm run bench:pipeline [-- --small 10000 --scale 1 --seed 42 --runs 3 --only small,office,mixed,start]
 *   BENCH_CPU_PROF=<dir> also writes a CPU profile of each pipeline child there.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { LocalAppliance } from '../services/cli/appliance/LocalAppliance';
import { listFiles, packFiles, prewarmArchiveWriter } from '../shared/archive';
import { parseConfig, type Config } from '../shared/config';
import { createLogger } from '../shared/observability';
import { generateCorpus, generateMixedCorpus } from './corpus';
import { BENCH_CONFIG } from './pipelineConfig';
import { startVsStock, type StartRow } from './pipelineStart';

const ROOT = resolve(__dirname, '..');
const MB = 1e6;
const SOURCE = { region: 'us-west-2', bucket: 'bench-source', prefix: 'data/' };

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

function benchConfig(): Config {
  return parseConfig(BENCH_CONFIG).config;
}

/** Seeded pseudo-text of exactly `size` bytes (office-like, compressible). */
function smallFile(seed: number, size: number): Buffer {
  let x = seed * 2654435761 >>> 0;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) / 16777216;
  const words = ['invoice', 'total', 'customer', 'amount', 'date', 'status', 'approved', 'pending', 'region', 'quarter'];
  const parts: string[] = [];
  let n = 0;
  while (n < size) {
    const s = `${words[Math.floor(rnd() * 10)]},${Math.floor(rnd() * 1e6)},${words[Math.floor(rnd() * 10)]}\n`;
    parts.push(s);
    n += s.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

/** Loads files into the source bucket through the store, so S3-style events are queued (not timed). */
async function load(dataDir: string, files: AsyncIterable<{ rel: string; size: number; body: () => Readable | Buffer }>): Promise<{ objects: number; bytes: number }> {
  const appliance = new LocalAppliance({ config: benchConfig(), dataDir, logger: createLogger('bench', 'SILENT') });
  await appliance.init();
  await appliance.cycle(); // consume the s3:TestEvent from setting up notifications
  const store = appliance.topology.store(SOURCE.region);
  let objects = 0;
  let bytes = 0;
  for await (const f of files) {
    await store.put(SOURCE.bucket, SOURCE.prefix + f.rel, f.body(), { size: f.size });
    objects++;
    bytes += f.size;
  }
  return { objects, bytes };
}

async function* smallFiles(count: number): AsyncIterable<{ rel: string; size: number; body: () => Buffer }> {
  for (let i = 0; i < count; i++) yield { rel: `user${i % 50}@acme.example/folder${i % 97}/doc-${i}.csv`, size: 10_240, body: () => smallFile(i + 1, 10_240) };
}

async function* corpusFiles(dir: string): AsyncIterable<{ rel: string; size: number; body: () => Readable }> {
  for (const f of await listFiles(dir)) {
    if (f.relativeKey.startsWith('.')) continue;
    yield { rel: f.relativeKey, size: statSync(f.path).size, body: () => createReadStream(f.path) };
  }
}

/** Child: run the pipeline until idle (`fsync` as the appliance's default, or off); prints JSON. */
async function childPipeline(dataDir: string, fsync: boolean): Promise<void> {
  const appliance = new LocalAppliance({ config: benchConfig(), dataDir, logger: createLogger('bench', 'SILENT'), fsync });
  await appliance.init();
  const t0 = performance.now();
  const run = await appliance.runUntilIdle();
  const seconds = (performance.now() - t0) / 1000;
  const objects = run.archived.reduce((n, a) => n + a.objects, 0);
  const archiveBytes = run.archived.reduce((n, a) => n + a.bytesOut, 0);
  // What actually arrived: objects written to the normal destination and rows in the backup catalog.
  const written = run.routed.reduce((n, r) => n + r.destinations.reduce((m, d) => m + (d.mode === 'normal' ? d.objectsWritten : 0), 0), 0);
  const catalogRows = run.routed.reduce((n, r) => n + r.catalogRows, 0);
  process.stdout.write(JSON.stringify({ seconds, objects, written, catalogRows, archives: run.archived.length, archiveBytes, failures: appliance.failures, rssMB: process.resourceUsage().maxRSS / 1024 }));
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
}

/** Child: the archive engine alone over the same files (as `xregion archive create` runs it); prints JSON. */
async function childEngine(dir: string, out: string): Promise<void> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  prewarmArchiveWriter({ level: 3, threads: 2 });
  const files = await listFiles(dir);
  await packFiles(files, createWriteStream(out), { archiveName: 'bench.tar.zst', source: { region: SOURCE.region, bucket: SOURCE.bucket, prefix: SOURCE.prefix }, level: 3, threads: 2 });
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ seconds, cpu: cpuSeconds(c0), archiveBytes: statSync(out).size, rssMB: process.resourceUsage().maxRSS / 1024 }));
}

/**
 * Child: the least any pipeline must do at a normal destination — create each object as a plain
 * file under its key (no metadata, no temp file, one synchronous write each, the fastest way
 * measured here) from bytes already in memory. Prints JSON.
 */
async function childFiles(dir: string, out: string): Promise<void> {
  const files = await listFiles(dir);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const made = new Set<string>();
  for (const f of files) {
    const bytes = readFileSync(f.path);
    const target = join(out, f.relativeKey);
    const parent = dirname(target);
    if (!made.has(parent)) mkdirSync(parent, { recursive: true });
    made.add(parent);
    writeFileSync(target, bytes);
  }
  process.stdout.write(JSON.stringify({ seconds: (performance.now() - t0) / 1000, cpu: cpuSeconds(c0) }));
}

function child<T>(...args: string[]): T {
  const prof = process.env.BENCH_CPU_PROF && args[0] === '--child-pipeline' ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const r = spawnSync(process.execPath, [...prof, '--import', 'tsx', __filename, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`child ${args[0]} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface Row {
  name: string;
  objects: number;
  bytes: number;
  pipeline: { seconds: number; objects: number; written: number; catalogRows: number; archives: number; archiveBytes: number; failures: number; rssMB: number };
  /** The same pipeline with fsync off: what durability costs. */
  noFsync: Row['pipeline'];
  engine: { seconds: number; cpu: number; archiveBytes: number; rssMB: number };
  files: { seconds: number; cpu: number };
}

/** The pipeline in a child over a fresh copy of the source bucket; fails unless every object arrived. */
async function pipelineRun(name: string, files: () => AsyncIterable<{ rel: string; size: number; body: () => Readable | Buffer }>, fsync: boolean): Promise<Row['pipeline']> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xregion-bench-pipeline-'));
  try {
    const { objects } = await load(dataDir, files());
    process.stderr.write(`${name}: pipeline${fsync ? '' : ' (fsync off)'}…\n`);
    const pipeline = child<Row['pipeline']>('--child-pipeline', dataDir, fsync ? 'fsync' : 'no-fsync');
    if (pipeline.failures > 0) throw new Error(`${name}: the pipeline reported ${pipeline.failures} failures`);
    // A fast run that skipped objects would be a wrong result, not a fast one.
    for (const [what, n] of [['archived', pipeline.objects], ['written to the normal destination', pipeline.written], ['catalogued', pipeline.catalogRows]] as const) {
      if (n !== objects) throw new Error(`${name}: ${n} of ${objects} objects ${what}`);
    }
    return pipeline;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The run of median time. */
function median<T extends { seconds: number }>(runs: T[]): T {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor((runs.length - 1) / 2)]!;
}

async function scenario(name: string, makeFiles: () => AsyncIterable<{ rel: string; size: number; body: () => Readable | Buffer }>, runs: number): Promise<Row> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xregion-bench-pipeline-'));
  const files = makeFiles();
  try {
    process.stderr.write(`${name}: loading the source bucket…\n`);
    const { objects, bytes } = await load(dataDir, files);
    const srcDir = join(dataDir, 'regions', SOURCE.region, SOURCE.bucket, SOURCE.prefix);
    process.stderr.write(`${name}: archive engine alone…\n`);
    const engine = child<Row['engine']>('--child-engine', srcDir, join(dataDir, 'engine.tar.zst'));
    process.stderr.write(`${name}: destination files alone…\n`);
    const plain = child<Row['files']>('--child-files', srcDir, join(dataDir, 'plain-files'));
    rmSync(join(dataDir, 'plain-files'), { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    // Interleaved, so drifting load on the shared machine hits both alike; medians by time.
    const withSync: Row['pipeline'][] = [];
    const without: Row['pipeline'][] = [];
    for (let i = 0; i < runs; i++) {
      withSync.push(await pipelineRun(name, makeFiles, true));
      without.push(await pipelineRun(name, makeFiles, false));
    }
    return { name, objects, bytes, pipeline: median(withSync), noFsync: median(without), engine, files: plain };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (mode === '--child-pipeline') return childPipeline(process.argv[3], process.argv[4] !== 'no-fsync');
  if (mode === '--child-engine') return childEngine(process.argv[3], process.argv[4]);
  if (mode === '--child-files') return childFiles(process.argv[3], process.argv[4]);

  const small = arg('small', 10_000);
  const runs = arg('runs', 1);
  const oi = process.argv.indexOf('--only');
  const only = new Set(oi > 0 ? process.argv[oi + 1]!.split(',') : ['small', 'office', 'mixed', 'start']);
  const corpusDir = join(ROOT, 'bench', '.corpus', 'office');
  const mixedDir = join(ROOT, 'bench', '.corpus', 'mixed');
  const corpus = await generateCorpus(corpusDir, { seed: arg('seed', 42), scale: arg('scale', 1) });
  const mixed = await generateMixedCorpus(mixedDir, { seed: arg('seed', 42), scale: arg('scale', 1) });
  const rows: Row[] = [];
  if (only.has('small')) rows.push(await scenario(`${small} × 10 KB`, () => smallFiles(small), runs));
  if (only.has('office')) rows.push(await scenario(`office corpus (${corpus.files} files)`, () => corpusFiles(corpusDir), runs));
  if (only.has('mixed')) rows.push(await scenario(`mixed corpus (${mixed.files} files)`, () => corpusFiles(mixedDir), runs));
  const startRuns = arg('start-runs', Math.max(runs, 3));
  const starts: StartRow[] = only.has('start') ? [await startVsStock(`mixed corpus (${mixed.files} files, ${(mixed.bytes / MB).toFixed(0)} MB)`, mixedDir, startRuns)] : [];

  const f = (n: number, d = 1) => n.toFixed(d);
  const cpus = availableParallelism();
  // Even with every other step free and perfectly overlapped, a pipeline must spend the engine's
  // CPU and the destination files' CPU on `cpus` processors, and cannot beat either alone.
  const bound = (r: Row): number => Math.max(r.engine.seconds, r.files.seconds, (r.engine.cpu + r.files.cpu) / cpus);
  const floor = [
    '',
    `The least a pipeline must do on this machine (${cpus} CPUs): the engine's work plus writing each object as a plain file at the normal destination (no metadata, no temp file; \`--child-files\`). Even if everything else were free and perfectly overlapped, pipeline ÷ engine could not exceed engine time ÷ max(engine time, files time, (engine CPU + files CPU) ÷ CPUs):`,
    '',
    '| data set | engine s (CPU s) | destination files alone s (CPU s) | best possible pipeline s | best possible pipeline ÷ engine | pipeline ÷ best possible (target ≥ 0.75) |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${f(r.engine.seconds, 2)} (${f(r.engine.cpu, 2)}) | ${f(r.files.seconds, 2)} (${f(r.files.cpu, 2)}) | ${f(bound(r), 2)} | ${f(r.engine.seconds / bound(r), 2)} | ${f(bound(r) / r.pipeline.seconds, 2)} |`),
  ];
  const lines = [
    '| data set | objects | MB | pipeline s | objects/s | MB/s | archives | peak RSS MB | engine alone MB/s | engine RSS MB | pipeline ÷ engine | pipeline s, fsync off | fsync cost |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const mbps = r.bytes / MB / r.pipeline.seconds;
      const engineMbps = r.bytes / MB / r.engine.seconds;
      const cost = `+${f((r.pipeline.seconds / r.noFsync.seconds - 1) * 100, 0)}%`;
      return `| ${r.name} | ${r.objects} | ${f(r.bytes / MB)} | ${f(r.pipeline.seconds, 2)} | ${f(r.objects / r.pipeline.seconds, 0)} | ${f(mbps)} | ${r.pipeline.archives} | ${f(r.pipeline.rssMB, 0)} | ${f(engineMbps)} | ${f(r.engine.rssMB, 0)} | ${f(mbps / engineMbps, 2)} | ${f(r.noFsync.seconds, 2)} | ${cost} |`;
    }),
  ];
  const startTable = [
    '',
    `Files already in the source bucket, delivered by a plain \`xregion start\` (a child process: \`node --import tsx services/cli/main.ts start --no-drive --no-sample\`, fsync on) until both destinations hold them, against the same delivery by stock tools (\`cp -r\` into a bucket-like folder + \`tar | zstd -3 -T2\` + \`cp -r\` to the normal destination + \`cp\` of the archive to the backup, no sync); medians of ${startRuns} interleaved runs:`,
    '',
    '| data set | `xregion start` s | of which fixed start-up s | stock tools s | stock ÷ start |',
    '|---|---:|---:|---:|---:|',
    ...starts.map((r) => `| ${r.name} | ${f(r.startSeconds, 2)} | ${f(r.fixedSeconds, 2)} | ${f(r.stockSeconds, 2)} | ${f(r.stockSeconds / r.startSeconds, 2)} |`),
  ];
  process.stdout.write(
    `${rows.length > 0 ? `${lines.join('\n')}\n${floor.join('\n')}\n\nPipeline = compressor + local replication to 2 regions + routers (verify pass, unpack to the normal destination, copy + catalog to the backup). Engine alone = packFiles over the same source files, level 3, 2 threads. ${runs > 1 ? `Pipeline columns: medians of ${runs} interleaved runs.` : 'One run each.'}\n` : ''}${starts.length > 0 ? `${startTable.join('\n')}\n` : ''}`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:pipeline: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
