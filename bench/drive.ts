/**
 * `npm run bench:drive`: Drive ingest throughput against the sample Drive with a fixed latency per
 * request (default 50 ms) and 2,000 small files, at concurrency 1, 4, 8 and 16.
 * Target at concurrency 8: files/s >= 0.8 × 8 / (requests per file × latency).
 * Options: --files N --latency MS --size BYTES --concurrency 1,4,8,16
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleCredentials, startSampleDrive } from '../services/sample-drive';
import { parseConfig } from '../shared/config';
import { runDriveIngest } from '../shared/drive';
import { LocalObjectStore } from '../shared/storage/local/LocalObjectStore';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}

/** Child mode: serve a sample Drive (in its own process, as a remote Drive would be) and report its URL. */
async function serve(): Promise<void> {
  const sd = await startSampleDrive({ latencyMs: Number(arg('latency', '50')), bulk: { count: Number(arg('files', '2000')), size: Number(arg('size', '1024')) }, largeFileBytes: 1024 });
  process.send?.({ url: sd.url });
  process.on('message', (m: { stats?: boolean }) => {
    if (m.stats) process.send?.({ stats: sd.stats });
  });
  process.on('disconnect', () => void sd.close().then(() => process.exit(0)));
}

function startServer(): Promise<{ url: string; child: ChildProcess; stats(): Promise<Record<string, number>> }> {
  const child = fork(__filename, ['--serve', ...process.argv.slice(2)], { execArgv: process.execArgv, stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (m: { url: string }) =>
      resolve({
        url: m.url,
        child,
        stats: () => new Promise((res) => { child.once('message', (x: { stats: Record<string, number> }) => res(x.stats)); child.send({ stats: true }); }),
      }),
    );
  });
}

async function main(): Promise<void> {
  const files = Number(arg('files', '2000'));
  const latencyMs = Number(arg('latency', '50'));
  const size = Number(arg('size', '1024'));
  const levels = arg('concurrency', '1,4,8,16').split(',').map(Number);
  const rows: string[][] = [];
  let verdict = '';
  for (const concurrency of levels) {
    const sd = await startServer();
    const dir = mkdtempSync(join(tmpdir(), 'xregion-bench-drive-'));
    const store = new LocalObjectStore({ root: dir });
    await store.ensureBucket('bench-landing');
    const { config } = parseConfig({
      drive_sources: [{
        name: 'bench', domain: 'acme.example', users: ['admin@acme.example'], shared_drives: false, concurrency,
        target: { region: 'us-west-2', bucket: 'bench-landing', prefix: 'gdrive/' },
      }],
      replication_configuration: [{ source: { region: 'us-west-2', bucket: 'bench-landing', prefix_filter: 'gdrive/' }, destinations: [{ region: 'eu-central-1', bucket: 'bench-dest' }] }],
    });
    const started = Date.now();
    const report = await runDriveIngest({ source: config.drive_sources[0], store, credentials: sampleCredentials(), rootUrl: sd.url });
    const seconds = (Date.now() - started) / 1000;
    const n = report.stats.uploaded;
    // Drive requests only (the token request and the run's listing are amortized over the files).
    const requests = (await sd.stats()).total ?? 0;
    const rpf = requests / n;
    const fps = n / seconds;
    const ideal = concurrency / (rpf * latencyMs / 1000);
    rows.push([String(concurrency), String(n), seconds.toFixed(1), fps.toFixed(1), rpf.toFixed(3), ideal.toFixed(1), `${((fps / ideal) * 100).toFixed(0)}%`]);
    if (concurrency === 8) {
      const target = 0.8 * ideal;
      verdict = `target at concurrency 8: >= ${target.toFixed(1)} files/s (0.8 × 8 / (${rpf.toFixed(3)} × ${latencyMs / 1000} s)); measured ${fps.toFixed(1)}: ${fps >= target ? 'PASS' : 'FAIL'}`;
    }
    if (report.stats.failed || n !== files + 1) throw new Error(`bench run incomplete: ${JSON.stringify(report.stats)}`);
    sd.child.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
  const head = ['concurrency', 'files', 'seconds', 'files/s', 'requests/file', 'ideal files/s', 'of ideal'];
  const out = [
    `Drive ingest: ${files} files of ${size} B (+1 seeded), ${latencyMs} ms per request (sample Drive in its own process), default pacer (200 req/s overall and per user), local store`,
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    verdict,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

(process.argv.includes('--serve') ? serve() : main()).catch((err: unknown) => {
  process.stderr.write(`bench:drive: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
