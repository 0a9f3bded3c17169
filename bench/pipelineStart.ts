/**
 * bench:pipeline's second table: files already in the source bucket folder delivered by a plain
 * `xregion start` (the CLI in a child process, as a user runs it), against stock tools making the
 * same delivery on the same machine: `cp -r` of the files into a bucket-like folder, `tar |
 * zstd -3 -T2` of them, `cp -r` to the normal destination and `cp` of the archive to the backup.
 * Runs are interleaved (start, stock, start, …) so drifting load hits both; medians are reported.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BENCH_CONFIG } from './pipelineConfig';

const ROOT = resolve(__dirname, '..');

export interface StartRow {
  name: string;
  startSeconds: number;
  /** The same command over an empty source bucket: module loading, set-up, one scan. */
  fixedSeconds: number;
  stockSeconds: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** Files under `dir` (recursively), skipping names starting with a dot at its top. */
function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) n += countFiles(join(dir, e.name));
    else if (e.isFile()) n++;
  }
  return n;
}

/** Lines of the `.jsonl` files under `dir` (catalog rows). */
function countRows(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) n += countRows(join(dir, e.name));
    else if (e.name.endsWith('.jsonl')) n += readFileSync(join(dir, e.name), 'utf8').split('\n').filter(Boolean).length;
  }
  return n;
}

/** One `xregion start` over `corpus` (undefined: an empty bucket) already in the source bucket folder; seconds. Fails unless all `expected` objects arrived. */
function startOnce(corpus: string | undefined, expected: number): number {
  const dataDir = mkdtempSync(join(tmpdir(), 'xregion-bench-start-'));
  const cfg = `${dataDir}.json`;
  try {
    writeFileSync(cfg, JSON.stringify(BENCH_CONFIG));
    const src = join(dataDir, 'regions', BENCH_CONFIG.replication_configuration[0]!.source.region, BENCH_CONFIG.replication_configuration[0]!.source.bucket, 'data');
    mkdirSync(src, { recursive: true });
    // Timestamps kept: these files were there before start (so no settle wait), as a user's are.
    if (corpus) cpSync(corpus, src, { recursive: true, preserveTimestamps: true, filter: (p) => !p.endsWith('.corpus.json') });
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', 'start', '--data-dir', dataDir, '-c', cfg, '--no-drive', '--no-sample'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`xregion start exited ${r.status}: ${r.stderr.slice(-2000)}`);
    // A fast run that skipped objects would be a wrong result, not a fast one.
    const normal = join(dataDir, 'regions', 'ca-central-1', 'bench-normal');
    const delivered = expected === 0 ? 0 : countFiles(normal);
    const rows = expected === 0 ? 0 : countRows(join(dataDir, 'regions', 'eu-central-1'));
    if (delivered !== expected || rows !== expected) throw new Error(`xregion start delivered ${delivered} and catalogued ${rows} of ${expected} objects`);
    return seconds;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(cfg, { force: true });
  }
}

/** The stock-tools delivery of `corpus`; seconds. */
function stockOnce(corpus: string): number {
  const work = mkdtempSync(join(tmpdir(), 'xregion-bench-stock-'));
  try {
    const script = `set -e; cd "${work}"; mkdir backup; cp -r "${corpus}" bucket; tar -C "${corpus}" -cf - . | zstd -3 -T2 -q -o archive.tar.zst; cp -r "${corpus}" normal; cp archive.tar.zst backup/`;
    const t0 = performance.now();
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`stock tools failed: ${r.stderr}`);
    return seconds;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Interleaved runs of both; medians. */
export async function startVsStock(name: string, corpus: string, runs: number): Promise<StartRow> {
  const files = countFiles(corpus) - 1; // the corpus marker
  const start: number[] = [];
  const stock: number[] = [];
  const fixed: number[] = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`${name}: xregion start, run ${i + 1}/${runs}…\n`);
    start.push(startOnce(corpus, files));
    stock.push(stockOnce(corpus));
    fixed.push(startOnce(undefined, 0));
  }
  return { name, startSeconds: median(start), fixedSeconds: median(fixed), stockSeconds: median(stock) };
}
