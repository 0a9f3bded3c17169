/**
 * LocalObjectStore.sweepTempFiles: the temp files of writes a crash or a kill interrupted
 * (`.tmp/put-*`, `.tmp/meta-*`) are removed at start-up, and the store's own writes in flight
 * are left alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { LocalObjectStore } from '../../shared/storage';
import { readAll } from '../helpers/bytes';

describe('Class: LocalObjectStore (temp files)', () => {
  let root: string;
  let store: LocalObjectStore;
  const tmpDir = () => path.join(root, '.tmp');
  const temps = () => (existsSync(tmpDir()) ? readdirSync(tmpDir()).sort() : []);

  beforeEach(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'xregion-sweep-'));
    store = new LocalObjectStore({ root, fsync: false });
    await store.ensureBucket('bkt');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  describe('Method: sweepTempFiles', () => {
    it('removes what SIGKILLed writers left behind, and says how much', async () => {
      // Prepare: a writer killed mid-put (as crashingPut.ts does), plus leftovers of older kills
      const script = path.resolve(__dirname, '..', 'helpers', 'crashingPut.ts');
      const child = spawn(process.execPath, ['--import', 'tsx', script, root, 'bkt', 'victim'], { stdio: 'ignore', cwd: path.resolve(__dirname, '..', '..') });
      const until = Date.now() + 20_000;
      const size = () => temps().reduce((n, f) => n + statSync(path.join(tmpDir(), f)).size, 0);
      while (size() < 256 * 1024 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      writeFileSync(path.join(tmpDir(), 'meta-0123456789ab-1'), '{"v":1');
      writeFileSync(path.join(tmpDir(), 'put-0123456789ab-2'), '');
      const leftBytes = size();

      // Act
      const swept = await new LocalObjectStore({ root }).sweepTempFiles();

      // Assess
      expect(leftBytes).toBeGreaterThanOrEqual(256 * 1024);
      expect(swept).toEqual({ files: 3, bytes: leftBytes });
      expect(temps()).toEqual([]);
    }, 30_000);

    it("keeps this store's own writes in flight, which then commit", async () => {
      // Prepare: a put whose body is still arriving, and a leftover
      const body = new PassThrough();
      const put = store.put('bkt', 'slow', body);
      body.write('first half, ');
      await new Promise((r) => setTimeout(r, 50));
      writeFileSync(path.join(tmpDir(), 'put-deadbeef'), 'half an object');
      expect(temps()).toHaveLength(2);

      // Act
      const swept = await store.sweepTempFiles();
      body.end('second half');

      // Assess
      expect(swept.files).toBe(1);
      await put;
      expect((await readAll((await store.get('bkt', 'slow')).body)).toString()).toBe('first half, second half');
      expect(temps()).toEqual([]);
    });

    it('with olderThanMs, keeps files modified more recently (a root another process may still write in)', async () => {
      mkdirSync(tmpDir(), { recursive: true });
      writeFileSync(path.join(tmpDir(), 'put-old'), 'old');
      writeFileSync(path.join(tmpDir(), 'put-new'), 'new');
      const past = new Date(Date.now() - 2 * 3_600_000);
      utimesSync(path.join(tmpDir(), 'put-old'), past, past);
      expect(await store.sweepTempFiles({ olderThanMs: 3_600_000 })).toEqual({ files: 1, bytes: 3 });
      expect(temps()).toEqual(['put-new']);
    });

    it('is a no-op on a root that never had a temp folder', async () => {
      const empty = mkdtempSync(path.join(os.tmpdir(), 'xregion-sweep-empty-'));
      try {
        expect(await new LocalObjectStore({ root: empty }).sweepTempFiles()).toEqual({ files: 0, bytes: 0 });
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    });
  });
});
