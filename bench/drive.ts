/**
 * `npm run bench:drive`: Drive ingest against the sample Drive (in its own process, as a remote
 * Drive would be) with a fixed latency per request, and the per-user index's memory.
 *
 * - `domain`: a 63-user domain (32 files of 1 KiB each) at each `user_concurrency`, and the same
 *   2,016 files in one user, at `concurrency` 8. Ideal = concurrency / (requests per file × latency):
 *   every transfer slot busy all the time. Target: the domain at >= 0.8 of it.
 * - `index`: peak RSS of a process that loads a synthetic 1M-file index (index.jsonl in a local
 *   store), looks every file up by id and path as a full listing does, changes 1% and compacts; and
 *   of a first run that writes 1M entries. Against the index of 98bb2dd (a whole in-memory Map).
 * - `single`: one user's 2,000 files at concurrency 1, 4, 8, 16 (the older table).
 *
 * Rounds are interleaved (every configuration once per round, in rotated order) and medians shown.
 * Options: --sections domain,index[,single] --rounds 3 --latency 50 --users 63 --files-per-user 32
 *          --index-files 1000000 --index-impls new,old --user-concurrency 1,2,4,8,16
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { sampleCredentials, SampleDriveServer, seedWorkspace, startSampleDrive } from '../services/sample-drive';
import { parseConfig } from '../shared/config';
import { runDriveIngest } from '../shared/drive';
import { LocalObjectStore } from '../shared/storage/local/LocalObjectStore';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}
const num = (name: string, dflt: number): number => Number(arg(name, String(dflt)));
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const table = (head: string[], rows: string[][]): string => [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

// ---------------------------------------------------------------- sample Drive in a child process

/** Child mode: serve a sample Drive with `users` users of `perUser` files (or the seeded one with `bulk`) and report its URL. */
async function serve(): Promise<void> {
  const latencyMs = num('latency', 50);
  const users = num('serve-users', 0);
  let url: string;
  let stats: () => Record<string, number>;
  if (users > 0) {
    const ws = seedWorkspace({ largeFileBytes: 1024 });
    const perUser = num('serve-files', 32);
    for (let u = 1; u <= users; u++) {
      const email = ws.addUser(`user${String(u).padStart(2, '0')}`, `User ${u}`).primaryEmail;
      const dir = ws.create({ name: 'work', mimeType: 'application/vnd.google-apps.folder', owner: email });
      for (let i = 0; i < perUser; i++) ws.create({ name: `file-${i}.bin`, mimeType: 'application/octet-stream', owner: email, parent: dir.id, content: { kind: 'buffer', data: randomBytes(num('size', 1024)) } });
    }
    const server = new SampleDriveServer(ws, { latencyMs });
    url = await server.listen(0);
    stats = () => server.stats;
  } else {
    const sd = await startSampleDrive({ latencyMs, bulk: { count: num('serve-files', 2000), size: num('size', 1024), user: arg('serve-bulk-user', 'admin@acme.example') }, largeFileBytes: 1024 });
    url = sd.url;
    stats = () => sd.stats;
  }
  process.send?.({ url });
  process.on('message', (m: { stats?: boolean }) => { if (m.stats) process.send?.({ stats: stats() }); });
  process.on('disconnect', () => process.exit(0));
}

interface Served { url: string; child: ChildProcess; stats(): Promise<Record<string, number>> }

function startServer(extra: string[]): Promise<Served> {
  const child = fork(__filename, ['--serve', ...process.argv.slice(2), ...extra], { execArgv: process.execArgv, stdio: 'inherit' });
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('message', (m: { url: string }) => res({
      url: m.url, child,
      stats: () => new Promise((r) => { child.once('message', (x: { stats: Record<string, number> }) => r(x.stats)); child.send({ stats: true }); }),
    }));
  });
}

/** One ingest run into a fresh local store: files stored, seconds, Drive requests. */
async function ingestOnce(server: string[], users: string[], concurrency: number, userConcurrency: number): Promise<{ files: number; seconds: number; requests: number }> {
  const sd = await startServer(server);
  const dir = mkdtempSync(join(tmpdir(), 'xregion-bench-drive-'));
  try {
    const store = new LocalObjectStore({ root: dir });
    await store.ensureBucket('bench-landing');
    const { config } = parseConfig({
      drive_sources: [{ name: 'bench', domain: 'acme.example', users, shared_drives: false, concurrency, user_concurrency: userConcurrency, target: { region: 'us-west-2', bucket: 'bench-landing', prefix: 'gdrive/' } }],
      replication_configuration: [{ source: { region: 'us-west-2', bucket: 'bench-landing', prefix_filter: 'gdrive/' }, destinations: [{ region: 'eu-central-1', bucket: 'bench-dest' }] }],
    });
    const started = Date.now();
    const report = await runDriveIngest({ source: config.drive_sources[0], store, credentials: sampleCredentials(), rootUrl: sd.url });
    const seconds = (Date.now() - started) / 1000;
    if (report.stats.failed || report.subjects.some((s) => s.status !== 'ok')) throw new Error(`bench run incomplete: ${JSON.stringify(report.stats)}`);
    return { files: report.stats.uploaded, seconds, requests: (await sd.stats()).total ?? 0 };
  } finally {
    sd.child.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function domainSection(rounds: number): Promise<string> {
  const latencyMs = num('latency', 50);
  const nUsers = num('users', 63);
  const perUser = num('files-per-user', 32);
  const concurrency = 8;
  const emails = Array.from({ length: nUsers }, (_, u) => `user${String(u + 1).padStart(2, '0')}@acme.example`);
  const levels = arg('user-concurrency', '1,2,4,8,16').split(',').map(Number);
  type Cfg = { label: string; users: string[]; uc: number; server: string[] };
  const cfgs: Cfg[] = [
    ...levels.map((uc) => ({ label: `${nUsers} users × ${perUser}`, users: emails, uc, server: ['--serve-users', String(nUsers), '--serve-files', String(perUser)] })),
    { label: `1 user × ${nUsers * perUser}`, users: ['admin@acme.example'], uc: 1, server: ['--serve-files', String(nUsers * perUser)] },
  ];
  const runs = cfgs.map(() => [] as { files: number; seconds: number; requests: number }[]);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < cfgs.length; k++) {
      const i = (k + r) % cfgs.length;
      runs[i].push(await ingestOnce(cfgs[i].server, cfgs[i].users, concurrency, cfgs[i].uc));
      process.stderr.write(`domain round ${r + 1}/${rounds}: ${cfgs[i].label} user_concurrency ${cfgs[i].uc}: ${runs[i].at(-1)!.seconds.toFixed(1)} s\n`);
    }
  }
  const rows = cfgs.map((c, i) => {
    const secs = median(runs[i].map((x) => x.seconds));
    const files = runs[i][0].files;
    const rpf = median(runs[i].map((x) => x.requests / x.files));
    const fps = files / secs;
    const ideal = concurrency / ((rpf * latencyMs) / 1000);
    return [c.label, String(c.uc), String(files), secs.toFixed(1), fps.toFixed(1), rpf.toFixed(3), ideal.toFixed(1), `${((fps / ideal) * 100).toFixed(0)}%`];
  });
  return [
    `Domain: ${nUsers} users of ${perUser} files (1 KiB) vs one user of as many files; concurrency ${concurrency}, ${latencyMs} ms per request, default pacer; medians of ${rounds} interleaved rounds`,
    '',
    table(['subjects', 'user_concurrency', 'files', 'seconds', 'files/s', 'requests/file', 'ideal files/s', 'of ideal'], rows),
  ].join('\n');
}

// ---------------------------------------------------------------- the index's memory

const OLD_COMMIT = '98bb2dd';

/** Writes the index of 98bb2dd (a whole in-memory Map) where tsx can load it, its imports pointed at this checkout. */
function oldUserStateModule(): string {
  const dir = mkdtempSync(join(tmpdir(), 'xregion-bench-oldindex-'));
  const root = resolve(__dirname, '..');
  const src = execFileSync('git', ['show', `${OLD_COMMIT}:shared/drive/UserState.ts`], { cwd: root, encoding: 'utf8' })
    .replace(/from '\.\.\/storage\//g, `from '${root}/shared/storage/`)
    .replace(/from '\.\/errors'/g, `from '${root}/shared/drive/errors'`);
  const file = join(dir, 'UserState.ts');
  writeFileSync(file, src);
  return file;
}

/** A synthetic index line, shaped like a real binary entry (661 B on average, as measured on real runs). */
function entryLine(i: number): string {
  const id = `1${i.toString(36).padStart(8, '0')}${'x'.repeat(24)}`;
  const path = `Projects/Team ${i % 97}/Reports ${i % 13}/file-${i}.pdf`;
  const hex = (n: number) => (i.toString(16).padStart(8, '0') + 'ab').repeat(8).slice(0, n);
  return JSON.stringify([id, {
    key: `gdrive-backup/user01@acme.example/${path}`, kind: 'binary', rev: hex(32), md5: hex(32), modifiedTime: '2025-01-06T09:15:15.000Z',
    path, basePath: path, sha256: hex(64), size: 1000 + i, ...(i % 10 === 0 ? { alsoAt: [`Shared/${i % 7}`] } : {}),
  }]);
}

/** Child mode: one index scenario; prints {peakMiB, baseMiB, seconds, tableMiB?}. */
async function indexChild(): Promise<void> {
  const n = num('index-files', 1_000_000);
  const impl = arg('impl', 'new');
  const scenario = arg('scenario', 'incremental');
  const dir = arg('dir', '');
  const mod = (impl === 'old' ? require(arg('old-module', '')) : require('../shared/drive/UserState')) as typeof import('../shared/drive/UserState');
  const store = new LocalObjectStore({ root: dir });
  const base = `_xregion/state/drive/bench/user${scenario}/`;
  if (scenario === 'first') await store.delete('bench', `${base}index.jsonl`).catch(() => undefined);
  const baseMiB = process.memoryUsage().rss / 2 ** 20;
  const started = Date.now();
  const load = (mod.UserState.load as (...a: unknown[]) => Promise<import('../shared/drive/UserState').UserState>);
  const s = impl === 'old'
    ? await load(store, 'bench', base, 'user01', `run-${impl}`, 1000)
    : await load(store, 'bench', base, 'user01', `run-${impl}`, { flushEvery: 1000, localDir: join(dir, 'scratch') });
  for (let i = 0; i < n; i++) {
    const [id, e] = JSON.parse(entryLine(i)) as [string, import('../shared/drive/UserState').IndexEntry];
    const prev = s.get(id);
    s.ownerOfPath(e.path!);
    // A full listing looks every file up; 1% changed (first run: every file new).
    if (!prev || i % 100 === 0) await s.set(id, prev ? { ...e, rev: 'changed' } : e);
  }
  await s.save({ changeToken: '1' });
  await s.compact();
  const tableMiB = 'indexTableBytes' in s ? (s as { indexTableBytes: number }).indexTableBytes / 2 ** 20 : undefined;
  (s as { close?: () => void }).close?.();
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ peakMiB, baseMiB, seconds: (Date.now() - started) / 1000, tableMiB }));
}

async function indexSection(rounds: number): Promise<string> {
  const n = num('index-files', 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'xregion-bench-index-'));
  try {
    const store = new LocalObjectStore({ root: dir });
    await store.ensureBucket('bench');
    // The incremental scenario's index.jsonl, written once (the first-run scenario starts without one).
    const lines = (function* () { for (let i = 0; i < n; i++) yield `${entryLine(i)}\n`; })();
    const put = await store.put('bench', '_xregion/state/drive/bench/userincremental/index.jsonl', Readable.from(lines));
    mkdirSync(join(dir, 'scratch'), { recursive: true });
    const oldModule = oldUserStateModule();
    const impls = arg('index-impls', 'new,old').split(',');
    const cfgs = ([['new', 'incremental'], ['old', 'incremental'], ['new', 'first'], ['old', 'first']] as const).filter(([impl]) => impls.includes(impl));
    const runs = cfgs.map(() => [] as { peakMiB: number; baseMiB: number; seconds: number; tableMiB?: number }[]);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < cfgs.length; k++) {
        const i = (k + r) % cfgs.length;
        const [impl, scenario] = cfgs[i];
        const out = execFileSync(process.execPath, [...process.execArgv, __filename, '--index-child', '--impl', impl, '--scenario', scenario, '--dir', dir, '--index-files', String(n), '--old-module', oldModule], { encoding: 'utf8', maxBuffer: 1 << 20 });
        runs[i].push(JSON.parse(out) as (typeof runs)[number][number]);
        process.stderr.write(`index round ${r + 1}/${rounds}: ${impl} ${scenario}: ${runs[i].at(-1)!.peakMiB.toFixed(0)} MiB, ${runs[i].at(-1)!.seconds.toFixed(1)} s\n`);
      }
    }
    const rows = cfgs.map(([impl, scenario], i) => {
      const peak = median(runs[i].map((x) => x.peakMiB));
      const base = median(runs[i].map((x) => x.baseMiB));
      const tbl = runs[i][0].tableMiB;
      return [
        impl === 'new' ? 'IndexStore (this build)' : `in-memory Map (${OLD_COMMIT})`,
        scenario === 'incremental' ? 'daily run: load, look up all, change 1%' : 'first run: 1M new entries',
        peak.toFixed(0), base.toFixed(0), (peak - base).toFixed(0), (((peak - base) * 2 ** 20) / n).toFixed(0), tbl === undefined ? '—' : tbl.toFixed(1), median(runs[i].map((x) => x.seconds)).toFixed(1),
      ];
    });
    return [
      `Index memory: ${n.toLocaleString('en-US')} files (index.jsonl ${(put.size / 2 ** 20).toFixed(0)} MiB, ${(put.size / n).toFixed(0)} B a line), one process per run; medians of ${rounds} interleaved rounds. Target: peak RSS <= 256 MB`,
      '',
      table(['index', 'scenario', 'peak RSS MiB', 'RSS before MiB', 'growth MiB', 'B/file', 'tables MiB', 'seconds'], rows),
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- one user, several concurrencies

async function singleSection(rounds: number): Promise<string> {
  const files = num('files', 2000);
  const latencyMs = num('latency', 50);
  const levels = arg('concurrency', '1,4,8,16').split(',').map(Number);
  const runs = levels.map(() => [] as { files: number; seconds: number; requests: number }[]);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < levels.length; k++) {
      const i = (k + r) % levels.length;
      runs[i].push(await ingestOnce(['--serve-files', String(files)], ['admin@acme.example'], levels[i], 1));
    }
  }
  const rows = levels.map((c, i) => {
    const secs = median(runs[i].map((x) => x.seconds));
    const rpf = median(runs[i].map((x) => x.requests / x.files));
    const fps = runs[i][0].files / secs;
    const ideal = c / ((rpf * latencyMs) / 1000);
    return [String(c), String(runs[i][0].files), secs.toFixed(1), fps.toFixed(1), rpf.toFixed(3), ideal.toFixed(1), `${((fps / ideal) * 100).toFixed(0)}%`];
  });
  return [`One user: ${files} files of 1 KiB, ${latencyMs} ms per request; medians of ${rounds} interleaved rounds`, '', table(['concurrency', 'files', 'seconds', 'files/s', 'requests/file', 'ideal files/s', 'of ideal'], rows)].join('\n');
}

async function main(): Promise<void> {
  const rounds = num('rounds', 3);
  const sections = arg('sections', 'domain,index').split(',');
  const out: string[] = [];
  if (sections.includes('domain')) out.push(await domainSection(rounds));
  if (sections.includes('index')) out.push(await indexSection(rounds));
  if (sections.includes('single')) out.push(await singleSection(rounds));
  process.stdout.write(`${out.join('\n\n')}\n`);
}

const mode = process.argv.includes('--serve') ? serve : process.argv.includes('--index-child') ? indexChild : main;
mode().catch((err: unknown) => {
  process.stderr.write(`bench:drive: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
