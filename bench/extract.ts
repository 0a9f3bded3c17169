/**
 * `npm run bench:extract` — full extraction of one archive three ways, interleaved, medians:
 *  1. `node bin/xregion.js archive extract FILE -C DIR` as a user runs it (compiled, spawn to exit);
 *  2. extractArchive in this process (index read + extraction; pools already started), as a
 *     service would run it;
 *  3. `zstd -dc FILE | tar -xf - -C DIR`, the stock tools (which verify no sha256).
 * On the seeded office corpus (bench/corpus.ts: many 1–50 KB files plus three large ones) at
 * scale 0.77 (~160 MB) and 5 (~1 GB). Every run writes into a fresh folder, removed untimed.
 *
 *   npm run bench:extract [-- --scales 0.77,5 --runs 5]
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { ArchiveReader, extractArchive, ExtractOutput, listFiles, LocalFileRangeReader, packFiles } from '../shared/archive';
import { generateCorpus } from './corpus';

const ROOT = resolve(__dirname, '..');
const OUT = join(ROOT, 'bench', '.corpus');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
}

interface Sample {
  seconds: number;
  cpu: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Runs a shell command under /usr/bin/time: wall and user+system seconds of its whole tree. */
function timed(cmd: string[]): Sample {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', ...cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr}`);
  const [e, u, s] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { seconds: e!, cpu: u! + s! };
}

async function inProcess(file: string, dir: string): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const rr = new LocalFileRangeReader(file);
  const { manifest, seekTable } = await new ArchiveReader(rr, 'bench.tar.zst').readIndex();
  const out = await ExtractOutput.open(dir);
  await extractArchive(out, rr, { manifest, seekTable, archiveName: 'bench.tar.zst' });
  const c = process.cpuUsage(c0);
  return { seconds: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

async function archiveFor(scale: number): Promise<{ file: string; files: number; bytes: number }> {
  const corpus = await generateCorpus(join(OUT, `office-s42-x${scale}`), { seed: 42, scale });
  const file = join(OUT, `extract-x${scale}.tar.zst`);
  if (!existsSync(file)) {
    const files = (await listFiles(corpus.dir)).filter((f) => !f.relativeKey.startsWith('.corpus'));
    await packFiles(files, createWriteStream(file), { archiveName: `extract-x${scale}.tar.zst`, source: { region: 'local', bucket: 'bench', prefix: '' }, level: 3 });
  }
  return { file, files: corpus.files, bytes: corpus.bytes };
}

async function main(): Promise<void> {
  const scales = arg('scales', '0.77,5').split(',').map(Number);
  const runs = Number(arg('runs', '5'));
  process.stderr.write('building (npm run build)…\n');
  // tsc emits dist/ even when it reports type errors (other work in progress): say so and go on.
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) process.stderr.write(`warning: npm run build reported errors (dist/ emitted anyway):\n${build.stdout}${build.stderr}`);
  const load0 = loadavg()[0]!;
  const rows: string[] = [];
  // One untimed in-process run first: the pools start and the code is compiled, as in a service.
  let warmed = false;
  for (const scale of scales) {
    const a = await archiveFor(scale);
    const dir = join(OUT, 'extract-out');
    const fresh = (): string => {
      rmSync(dir, { recursive: true, force: true });
      return dir;
    };
    if (!warmed) {
      await inProcess(a.file, fresh());
      warmed = true;
    }
    const cli: Sample[] = [];
    const warm: Sample[] = [];
    const tar: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`scale ${scale}: run ${i + 1}/${runs}\n`);
      cli.push(timed(['node', join(ROOT, 'bin', 'xregion.js'), 'archive', 'extract', a.file, '-C', fresh()]));
      tar.push(timed(['sh', '-c', `mkdir -p "${fresh()}" && zstd -q -dc "${a.file}" | tar -xf - -C "${dir}"`]));
      warm.push(await inProcess(a.file, fresh()));
    }
    rmSync(dir, { recursive: true, force: true });
    const mb = a.bytes / 1e6;
    const ref = median(tar.map((s) => s.seconds));
    const row = (what: string, s: Sample[]): string => {
      const t = median(s.map((x) => x.seconds));
      return `| ${mb.toFixed(0)} MB, ${a.files} files (${(statSync(a.file).size / 1e6).toFixed(0)} MB archive) | ${what} | ${t.toFixed(2)} | ${median(s.map((x) => x.cpu)).toFixed(2)} | ${(mb / t).toFixed(0)} | ${(ref / t).toFixed(2)} | ${s.map((x) => x.seconds.toFixed(2)).join(' ')} |`;
    };
    rows.push(row('`xregion archive extract` (fresh process, spawn to exit)', cli), row('extractArchive in a warm process', warm), row('`zstd -dc | tar -xf -`', tar));
    // Each archive's rows as soon as they are measured (a 1 GB round is slow on a busy machine).
    process.stderr.write(`${rows.slice(-3).join('\n')}\n`);
  }
  const load1 = loadavg()[0]!;
  process.stdout.write(
    [
      `Load average (1 min) before: ${load0.toFixed(2)}, after: ${load1.toFixed(2)} on ${cpus().length} CPUs (shared machine); median of ${runs} interleaved runs.`,
      '',
      '| archive | extractor | time (s) | CPU (s) | MB/s | ÷ tar time (≥ 0.9 target) | runs (s) |',
      '| --- | --- | ---: | ---: | ---: | ---: | --- |',
      ...rows,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
