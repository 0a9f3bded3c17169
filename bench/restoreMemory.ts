/**
 * `npm run bench:restore-memory`: peak RSS of a restore that takes one file from each of many
 * archives (the case where archive indexes, not the files, dominate memory), with the default
 * retention budget vs keeping every index from the scan to the restore (the behaviour before the
 * budget). Each restore runs in its own child process for its own peak RSS. Prints markdown.
 *
 *   npm run bench:restore-memory [-- --archives 100,200,400 --members 1000]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { ArchiveWriter } from '../shared/archive';
import { DirectoryTarget, runRestore, type ArchiveRequest } from '../shared/restore';
import { LocalObjectStore } from '../shared/storage';

const ROOT = resolve(__dirname, '..');
const STORE = join(ROOT, 'bench', '.corpus', 'restore-memory-store');
const BUCKET = 'bench-backup';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
}

const archiveKey = (members: number, i: number): string => `m${members}/archive-${String(i).padStart(5, '0')}.tar.zst`;
const memberName = (i: number, m: number): string => `user${m % 40}@acme.example/Projects/folder-${m % 97}/document-${i}-${m}.txt`;

/** Writes archives [0, count) of `members` small members each, unless already there. */
async function ensureArchives(store: LocalObjectStore, count: number, members: number): Promise<void> {
  await store.ensureBucket(BUCKET);
  for (let i = 0; i < count; i++) {
    const key = archiveKey(members, i);
    if (await store.head(BUCKET, key).then(() => true, () => false)) continue;
    const body = new PassThrough();
    const put = store.put(BUCKET, key, body);
    const w = new ArchiveWriter(body, { archiveName: key, source: { region: 'local', bucket: 'src', prefix: 'backup/' }, threads: 0 });
    for (let m = 0; m < members; m++) {
      const data = Buffer.from(`archive ${i} member ${m} `.repeat(8));
      const rel = memberName(i, m);
      await w.addMember({ key: `backup/${rel}`, relativeKey: rel, size: data.length, metadata: { 'drive-file-id': `id-${i}-${m}`, 'drive-owner': `user${m % 40}@acme.example` } }, data);
    }
    await w.finish();
    await put;
  }
}

/** Child mode: restore one member of each archive; prints JSON {seconds, rssMB, restored, bytesRead}. */
async function child(count: number, members: number, retain: string): Promise<void> {
  const store = new LocalObjectStore({ root: STORE });
  const requests: ArchiveRequest[] = Array.from({ length: count }, (_, i) => {
    const rel = memberName(i, i % members);
    return { kind: 'archive', bucket: BUCKET, key: archiveKey(members, i), members: [{ relativeKey: rel, path: `${i}/${rel}` }] };
  });
  const out = mkdtempSync(join(tmpdir(), 'xregion-restore-memory-'));
  try {
    const t0 = performance.now();
    const s = await runRestore(requests, { storeFor: () => store, target: new DirectoryTarget(out), ...(retain === 'all' ? { retainEntries: Number.POSITIVE_INFINITY } : {}) });
    const seconds = (performance.now() - t0) / 1000;
    if (s.restored !== count) throw new Error(`restored ${s.restored} of ${count}: ${JSON.stringify(s.outcomes.find((o) => o.status !== 'restored'))}`);
    process.stdout.write(JSON.stringify({ seconds, rssMB: process.resourceUsage().maxRSS / 1024, restored: s.restored, bytesRead: s.bytesRead }));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(Number(process.argv[3]), Number(process.argv[4]), process.argv[5]!);
  const counts = arg('archives', '100,400,800').split(',').map(Number);
  const members = Number(arg('members', '1000'));
  const heapMB = Number(arg('heap-mb', '256'));
  const store = new LocalObjectStore({ root: STORE });
  const t0 = performance.now();
  await ensureArchives(store, Math.max(...counts), members);
  process.stderr.write(`archives ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (${STORE}${existsSync(STORE) ? '' : ', missing'})\n`);
  const lines = [
    `One file restored from each of N archives of ${members} members (its manifest read, no catalog row), V8 heap capped at ${heapMB} MB (\`--max-old-space-size\`).`,
    '',
    '| archives | manifest entries | retention | result | peak RSS (MB) | time (s) | bytes read |',
    '| ---: | ---: | --- | --- | ---: | ---: | ---: |',
  ];
  for (const count of counts) {
    for (const retain of ['default', 'all']) {
      const r = spawnSync('npx', ['tsx', 'bench/restoreMemory.ts', '--child', String(count), String(members), retain], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${heapMB}` },
      });
      const label = retain === 'all' ? 'every index kept (before)' : 'default budget (100,000 entries)';
      if (r.status !== 0) {
        if (!/heap out of memory|Allocation failed/i.test(r.stderr)) throw new Error(`child failed: ${r.stderr}`);
        lines.push(`| ${count} | ${count * members} | ${label} | out of memory | – | – | – |`);
        continue;
      }
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; rssMB: number; bytesRead: number };
      lines.push(`| ${count} | ${count * members} | ${label} | restored ${count} files | ${j.rssMB.toFixed(0)} | ${j.seconds.toFixed(2)} | ${j.bytesRead} |`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:restore-memory: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
