/**
 * `npm run bench:archive` — the archive engine against stock tools, each table with its reference
 * measured in the same run, medians of interleaved runs (the machine is shared and noisy):
 *
 * 1. `xregion archive create` in a fresh process (the compiled CLI, `node bin/xregion.js`, spawn to
 *    exit) vs `tar -cf - DIR | zstd -3 -T2` on the seeded office corpus (scale 6: 24,003 files,
 *    1.25 GB).
 * 2. Peak RSS of both on 200,000 small files (memory must not grow with the file count).
 * 3. One-member reads (`archive cat --stats`, fresh process) from the 24k-member and the
 *    200k-member archives: bytes read as a share of the archive, split into the index part (tail,
 *    index pages, the record's manifest frame) and the member's frames; reference: what the same
 *    read costs through the whole manifest (as before the member index), and `zstd -dc | tar -xO`.
 * 4. Optionally (`--big-gib N`) one N GiB member streamed from a generator: throughput and RSS.
 *
 *   npm run bench:archive [-- --scale 6 --seed 42 --runs 3 --many 200000 --big-gib 0 --no-build]
 *
 * --no-build reuses dist/ and bench/.build from an earlier run (a build takes minutes on a busy machine).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { ArchiveReader, ArchiveWriter, LocalFileRangeReader, type ManifestObject } from '../shared/archive';
import { generateCorpus } from './corpus';

// The repository root, whether this runs from bench/ (tsx) or compiled from bench/.build/bench/.
const ROOT = resolve(__dirname, existsSync(resolve(__dirname, '..', 'package.json')) ? '..' : '../../..');
const OUT = join(ROOT, 'bench', '.corpus');
const MB = 1e6;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** `count` files of 200–2,000 bytes in folders of 1,000 (seeded; reused when present). */
function generateMany(dir: string, count: number): { dir: string; files: number; bytes: number } {
  const marker = join(dir, '.corpus.json');
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as { dir: string; files: number; bytes: number };
  rmSync(dir, { recursive: true, force: true });
  let x = 42;
  const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const folder = join(dir, `user${Math.floor(i / 1000) % 20}@acme.com`, `folder-${Math.floor(i / 1000)}`);
    if (i % 1000 === 0) mkdirSync(folder, { recursive: true });
    const n = 200 + Math.floor(rnd() * 1800);
    writeFileSync(join(folder, `doc-${i}.txt`), `line ${i} of a small office note, revision ${Math.floor(rnd() * 100)}. `.repeat(Math.ceil(n / 40)).slice(0, n));
    bytes += n;
  }
  const info = { dir, files: count, bytes };
  writeFileSync(marker, JSON.stringify(info));
  return info;
}

interface Timed {
  seconds: number;
  /** user + system CPU seconds of the whole process tree. */
  cpu: number;
  rssMB: number;
  bytes: number;
}

/** Runs a shell command timed by the parent (spawn to exit); CPU and peak RSS via /usr/bin/time. */
function timed(cmd: string, out: string): Timed {
  // Every side writes a new file: replacing one costs extra on ext4, and `zstd -f` unlinks first anyway.
  rmSync(out, { force: true });
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', 'sh', '-c', cmd], { cwd: ROOT, encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const [user, sys, rssKB] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { seconds, cpu: user! + sys!, rssMB: rssKB! / 1024, bytes: statSync(out).size };
}

const runCli = (dir: string, out: string): Timed => timed(`tar -cf - -C "${dir}" . | zstd -q -3 -T2 -f -o "${out}"`, out);
const runOurs = (dir: string, out: string): Timed => timed(`node bin/xregion.js archive create "${dir}" -o "${out}" --threads 2 2>/dev/null`, out);

/** The medians of a side's runs. */
function med(runs: Timed[]): Timed {
  return { seconds: median(runs.map((r) => r.seconds)), cpu: median(runs.map((r) => r.cpu)), rssMB: median(runs.map((r) => r.rssMB)), bytes: median(runs.map((r) => r.bytes)) };
}

/** One member read as a user reads it: `archive cat --stats` in a fresh process. */
function catStats(archive: string, member: string): { bytes: number; reads: number; ms: number } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'xregion.js'), 'archive', 'cat', archive, member, '--stats'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`archive cat ${member} failed: ${r.stderr}`);
  const m = /read (\d+) of \d+ bytes \([\d.]+%\) in (\d+) reads, ([\d.]+) ms/.exec(r.stderr);
  if (!m) throw new Error(`no --stats line: ${r.stderr}`);
  return { bytes: Number(m[1]), reads: Number(m[2]), ms: Number(m[3]) };
}

/** Library-level split of one lookup: index part (tail, pages, record frame) vs the member's frames; and the whole-manifest path. */
async function readSplit(archive: string, m: ManifestObject): Promise<{ index: number; member: number; viaManifest: number }> {
  const r = new ArchiveReader(new LocalFileRangeReader(archive));
  await r.lookupMember(m.relative_key);
  const index = r.stats.bytesRead;
  for await (const _ of await r.openMember(m.relative_key));
  const old = new ArchiveReader(new LocalFileRangeReader(archive));
  await old.readIndex();
  return { index, member: r.stats.bytesRead - index, viaManifest: old.stats.bytesRead + (r.stats.bytesRead - index) };
}

/** Member read table rows for one archive: the median over members spread through it. */
async function memberReads(archive: string, label: string, lines: string[]): Promise<void> {
  const size = statSync(archive).size;
  const { manifest } = await new ArchiveReader(new LocalFileRangeReader(archive)).readIndex();
  const small = manifest.objects.filter((o) => o.size < 1024 * 1024);
  const picks = [0.1, 0.3, 0.5, 0.7, 0.9].map((q) => small[Math.floor(q * (small.length - 1))]!);
  const cats = picks.map((p) => catStats(archive, p.relative_key));
  const splits = await Promise.all(picks.map((p) => readSplit(archive, p)));
  const pct = (b: number): string => ((100 * b) / size).toFixed(3);
  const t0 = performance.now();
  execFileSync('sh', ['-c', `zstd -dc "${archive}" | tar -xOf - "objects/${picks[2]!.relative_key}" > /dev/null`]);
  const fullMs = performance.now() - t0;
  lines.push(
    `| ${label}: \`archive cat --stats\` (fresh process), median of ${picks.length} members | ${manifest.objects.length} | ${(size / MB).toFixed(1)} | ${median(cats.map((c) => c.bytes))} (max ${Math.max(...cats.map((c) => c.bytes))}) | **${pct(median(cats.map((c) => c.bytes)))}** (max ${pct(Math.max(...cats.map((c) => c.bytes)))}) | ${median(cats.map((c) => c.reads))} | ${median(cats.map((c) => c.ms)).toFixed(0)} |`,
    `| ${label}: of which index (tail, index pages, the record's manifest frame) | | | ${median(splits.map((s) => s.index))} | ${pct(median(splits.map((s) => s.index)))} | | |`,
    `| ${label}: of which the member's own frames | | | ${median(splits.map((s) => s.member))} | ${pct(median(splits.map((s) => s.member)))} | | |`,
    `| ${label}: the same reads through the whole manifest (before the index) | | | ${median(splits.map((s) => s.viaManifest))} | ${pct(median(splits.map((s) => s.viaManifest)))} | | |`,
    `| ${label}: \`zstd -dc \\| tar -xO member\` | | | ${size} | 100 | | ${fullMs.toFixed(0)} |`,
  );
}

/** Child mode: one member of `gib` GiB generated on the fly (never on disk), packed to /dev/null. */
async function childBig(gib: number, threads: number): Promise<void> {
  const size = Math.round(gib * 1024 ** 3);
  // 8 MiB of log-like text with ~10% random bytes, repeated: larger than zstd's 2 MiB window at level 3.
  let x = 12345;
  const rnd = (): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) / 16777216;
  const block = Buffer.alloc(8 * 1024 * 1024);
  let n = 0;
  while (n < block.length - 128) {
    if (rnd() < 0.1) {
      for (let i = 0; i < 64; i++) block[n++] = Math.floor(rnd() * 256);
      block[n++] = 10;
    } else n += block.write(`2025-07-24T03:51:${Math.floor(rnd() * 60)}Z INFO user=alice latency_ms=${Math.floor(rnd() * 1e5)}\n`, n, 'latin1');
  }
  let sent = 0;
  const body = new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const off = sent % block.length;
      const chunk = Buffer.from(block.subarray(off, Math.min(off + 1024 * 1024, block.length, off + size - sent)));
      sent += chunk.length;
      this.push(chunk);
    },
  });
  const t0 = performance.now();
  const w = new ArchiveWriter(createWriteStream('/dev/null'), { archiveName: 'big.tar.zst', source: { region: 'local', bucket: 'bench', prefix: '' }, threads });
  await w.addMember({ key: 'big.bin', relativeKey: 'big.bin', size }, body);
  await w.finishSummary();
  process.stdout.write(JSON.stringify({ seconds: (performance.now() - t0) / 1000, rssMB: process.resourceUsage().maxRSS / 1024, bytesOut: w.stats.bytesOut }));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child-big') return childBig(Number(process.argv[3]), Number(process.argv[4]));
  const scale = arg('scale', 6);
  const seed = arg('seed', 42);
  const runs = arg('runs', 3);
  const manyCount = arg('many', 200_000);
  const bigGib = arg('big-gib', 0);
  const loadStart = loadavg()[0]!;
  const corpus = await generateCorpus(join(OUT, `office-s${seed}-x${scale}`), { seed, scale });
  const many = generateMany(join(OUT, `many-${manyCount}`), manyCount);
  for (const d of [corpus.dir, many.dir]) execFileSync('sh', ['-c', `tar -cf - -C "${d}" . | cat > /dev/null`]); // warm the page cache for both sides
  if (!process.argv.includes('--no-build')) {
    process.stderr.write('building the CLI and this benchmark (npm run build; tsc -p tsconfig.bench.json)…\n');
    execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('npx', ['tsc', '-p', 'tsconfig.bench.json'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }

  const f = (name: string): string => join(OUT, name);
  const sides = { ours: [] as Timed[], cli: [] as Timed[], oursMany: [] as Timed[], cliMany: [] as Timed[] };
  const nodeStarts: number[] = [];
  // Interleaved: every round runs each side once, so load changes hit all sides alike.
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`round ${i + 1}/${runs}…\n`);
    sides.ours.push(runOurs(corpus.dir, f('ours.tar.zst')));
    sides.cli.push(runCli(corpus.dir, f('cli.tar.zst')));
    sides.oursMany.push(runOurs(many.dir, f('ours-many.tar.zst')));
    sides.cliMany.push(runCli(many.dir, f('cli-many.tar.zst')));
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    nodeStarts.push((performance.now() - t0) / 1000);
  }
  const [o, c, om, cm] = [med(sides.ours), med(sides.cli), med(sides.oursMany), med(sides.cliMany)];
  const nodeStart = median(nodeStarts);

  const lines: string[] = [];
  lines.push(`Load average (1 min) before the runs: ${loadStart.toFixed(2)}, after: ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} CPUs (shared machine). Medians of ${runs} interleaved runs.`, '');
  lines.push(`Create: corpus ${corpus.files} files, ${(corpus.bytes / MB).toFixed(0)} MB (seed ${seed}, scale ${scale}); level 3, 2 threads.`, '');
  lines.push('| packer | time (s) | CPU (s) | MB/s | files/s | archive (MB) | peak RSS (MB) |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const row = (name: string, r: Timed, files: number, bytes: number): string =>
    `| ${name} | ${r.seconds.toFixed(2)} | ${r.cpu.toFixed(2)} | ${(bytes / MB / r.seconds).toFixed(0)} | ${(files / r.seconds).toFixed(0)} | ${(r.bytes / MB).toFixed(2)} | ${r.rssMB.toFixed(0)} |`;
  lines.push(row('`xregion archive create` (fresh process, spawn to exit)', o, corpus.files, corpus.bytes), row('`tar -cf - DIR \\| zstd -3 -T2`', c, corpus.files, corpus.bytes), '');
  const ratios = sides.ours.map((r, i) => sides.cli[i]!.seconds / r.seconds);
  lines.push(
    `- throughput: **${(c.seconds / o.seconds).toFixed(2)}x** the CLI pipeline (median times; per round ${ratios.map((r) => r.toFixed(2)).join(', ')}; target >= 0.9x); archive ${((100 * (o.bytes - c.bytes)) / c.bytes).toFixed(2)}% vs the CLI's.`,
    `- floor for a fresh process: CLI time + Node's own start-up (\`node -e 0\`, ${nodeStart.toFixed(3)} s) → at best ${(c.seconds / (c.seconds + nodeStart)).toFixed(2)}x.`,
    '',
  );
  lines.push(`Memory: ${many.files} files of 200–2,000 bytes (${(many.bytes / MB).toFixed(0)} MB), same commands.`, '');
  lines.push('| packer | files | time (s) | CPU (s) | peak RSS (MB) |', '| --- | ---: | ---: | ---: | ---: |');
  lines.push(`| \`xregion archive create\` | ${many.files} | ${om.seconds.toFixed(2)} | ${om.cpu.toFixed(2)} | **${om.rssMB.toFixed(0)}** |`);
  lines.push(`| \`xregion archive create\` (the create corpus above) | ${corpus.files} | ${o.seconds.toFixed(2)} | ${o.cpu.toFixed(2)} | ${o.rssMB.toFixed(0)} |`);
  lines.push(`| \`tar -cf - DIR \\| zstd -3 -T2\` | ${many.files} | ${cm.seconds.toFixed(2)} | ${cm.cpu.toFixed(2)} | ${cm.rssMB.toFixed(0)} |`, '');

  lines.push('One-member reads (members spread through each archive, each < 1 MiB):', '');
  lines.push('| read | members | archive (MB) | bytes read | % of archive | reads | time (ms) |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  await memberReads(f('ours.tar.zst'), `${corpus.files}-member archive`, lines);
  await memberReads(f('ours-many.tar.zst'), `${many.files}-member archive`, lines);

  if (bigGib > 0) {
    const r = spawnSync(process.execPath, [join(ROOT, 'bench', '.build', 'bench', 'archive.js'), '--child-big', String(bigGib), '2'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`big member child failed: ${r.stderr}`);
    const big = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; rssMB: number; bytesOut: number };
    lines.push('', `A ${bigGib} GiB member streamed from a generator, 2 threads, output discarded: ${big.seconds.toFixed(1)} s (${((bigGib * 1024 ** 3) / MB / big.seconds).toFixed(0)} MB/s), compressed to ${(big.bytesOut / MB).toFixed(0)} MB, peak RSS ${big.rssMB.toFixed(0)} MB (target < 256 MB).`);
  }
  for (const p of ['ours.tar.zst', 'cli.tar.zst', 'ours-many.tar.zst', 'cli-many.tar.zst']) rmSync(f(p), { force: true });
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:archive: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
