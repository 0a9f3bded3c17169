/**
 * Transfers at domain scale, against the sample Drive through googleapis: a stalled download is
 * resumed by Range after the idle-read timeout (not held for the 30-minute response timeout), the
 * run's spools stay inside one budget across concurrent users, and what a killed run left in the
 * scratch folder is swept at the next start.
 */
import { mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { startSampleDrive } from '../../services/sample-drive';
import { SpoolBudget } from '../../shared/drive/Spool';
import type { ObjectStore, PutOptions, PutResult } from '../../shared/storage/port';
import { BUCKET, CountingStore, driveTestEnv, keys } from './helpers';

const LARGE = 2 * 1024 * 1024;

/** Total bytes of the files under a folder (recursively). */
function du(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(e.parentPath ?? dir, e.name);
    try {
      n += e.isDirectory() ? du(p) : statSync(p).size;
    } catch {
      // removed while we looked
    }
  }
  return n;
}

/** A store whose puts take `ms` longer: spools wait for their upload, so many are held at once. */
class SlowStore extends CountingStore {
  constructor(inner: ObjectStore, private readonly ms: number) {
    super(inner);
  }
  override async put(bucket: string, key: string, body: Parameters<ObjectStore['put']>[2], opts?: PutOptions): Promise<PutResult> {
    if (!key.startsWith('_xregion/')) await new Promise((r) => setTimeout(r, this.ms));
    return super.put(bucket, key, body, opts);
  }
}

describe('Function: runDriveIngest (transfer limits)', () => {
  jest.setTimeout(120_000);
  const env = driveTestEnv(LARGE);

  it('a download that stalls mid-body resumes by Range after the idle timeout, with the right bytes', async () => {
    // Prepare: the large file's first response sends half its body, then nothing (socket left open)
    const large = [...env.sd.server.ws.files.values()].find((f) => f.content && (f.size ?? 0) >= LARGE)!;
    expect(large).toBeDefined();
    env.sd.server.faults.set([{ kind: 'stallStream', match: `files/${large.id}\\?.*alt=media`, times: 1 }]);
    // Act
    const started = Date.now();
    const r = await env.run({ userFilter: large.owners[0], transfer: { idleTimeoutMs: 400 } });
    // Assess: well before the 30-minute response timeout, one ranged resume, bytes as Drive has them
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(env.sd.server.faults.fired.stallStream).toBe(1);
    expect(r.stats.failed).toBe(0);
    expect(env.sd.stats['files.get(media) ranged']).toBe(1);
    const key = (await keys(env.t.store, 'gdrive-backup/')).find((k) => k.endsWith(large.name));
    expect(key).toBeDefined();
    const stored = await buffer((await env.t.store.get(BUCKET, key!)).body);
    expect(stored.length).toBe(large.size);
    expect(createHash('md5').update(stored).digest('hex')).toBe(large.md5Checksum);
  });

  it('spools of every concurrent user stay within the run budget; every file still lands', async () => {
    // Prepare: 24 files of 256 KiB, small in-memory spools (bytes go to disk), slow uploads,
    // 8 transfers and 4 users at once, and a budget of 1 MiB: 4 files' worth
    const sd = await startSampleDrive({ largeFileBytes: 64 * 1024, bulk: { count: 16, size: 256 * 1024, user: 'admin@acme.example' } });
    const spoolDir = join(env.t.dir, 'spool');
    mkdirSync(spoolDir);
    const budget = new SpoolBudget(1024 * 1024);
    let peakDisk = 0;
    const poll = setInterval(() => { peakDisk = Math.max(peakDisk, du(spoolDir)); }, 15);
    // Act
    const r = await env.run(
      { rootUrl: sd.url, store: new SlowStore(env.t.store, 60), spoolBudget: budget, transfer: { spoolMemoryBytes: 1024, spoolDir } },
      { concurrency: 8, user_concurrency: 4 },
    ).finally(() => { clearInterval(poll); return sd.close(); });
    // Assess
    expect(r.stats.failed).toBe(0);
    expect(r.stats.downloaded).toBeGreaterThanOrEqual(16);
    expect(budget.peak).toBeGreaterThan(512 * 1024);
    expect(budget.peak).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
    expect(peakDisk).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
    expect(budget.held).toBe(0);
    expect(readdirSync(join(spoolDir, 'xregion-drive'))).toEqual([]);
  });

  it('sweeps the scratch folders and flat spool files that killed runs left', async () => {
    // Prepare: a folder of a process that is gone, a live process's folder, an old flat .part file
    const spoolDir = join(env.t.dir, 'spool');
    const dead = join(spoolDir, 'xregion-drive', '999999999-20260101T000000Z-dead00');
    const live = join(spoolDir, 'xregion-drive', `${process.ppid}-20260101T000000Z-live00`);
    mkdirSync(dead, { recursive: true });
    mkdirSync(live, { recursive: true });
    writeFileSync(join(dead, 'xregion-drive-0123456789abcdef.part'), Buffer.alloc(4096));
    const legacy = join(spoolDir, 'xregion-drive-fedcba9876543210.part');
    writeFileSync(legacy, Buffer.alloc(4096));
    const old = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(legacy, old, old);
    // Act
    const r = await env.run({ userFilter: 'bob@acme.example', transfer: { spoolDir } });
    // Assess
    expect(r.subjects[0].status).toBe('ok');
    expect(readdirSync(join(spoolDir, 'xregion-drive')).sort()).toEqual([`${process.ppid}-20260101T000000Z-live00`]);
    expect(readdirSync(spoolDir)).toEqual(['xregion-drive']);
  });
});
