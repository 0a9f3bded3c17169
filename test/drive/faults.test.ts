/** Drive ingestion under injected faults: rate limits, 5xx, dropped streams, quotas; and crash/resume. */
import { startSampleDrive, type FaultRule, type SampleDrive } from '../../services/sample-drive';
import { runDriveIngest, type DriveIngestOptions, type DriveRunReport } from '../../shared/drive';
import { CountingStore, driveSource, fakeServiceAccount, keys, tempStore, type TempStore } from './helpers';

const P = 'gdrive-backup/';

describe('Function: runDriveIngest (faults)', () => {
  let sd: SampleDrive;
  let t: TempStore;
  let clean: string[];
  const run = (over: Partial<DriveIngestOptions> = {}): Promise<DriveRunReport> =>
    runDriveIngest({ source: driveSource({ concurrency: 4 }), store: t.store, credentials: fakeServiceAccount(), rootUrl: sd.url, backoff: { baseMs: 5, capMs: 40 }, ...over });
  const faults = (rules: FaultRule[]) => sd.server.faults.set(rules);

  beforeAll(async () => {
    // The keys of a clean run, to compare every faulty run with.
    sd = await startSampleDrive({ largeFileBytes: 300 * 1024 });
    t = await tempStore();
    await run();
    clean = await keys(t.store, P);
    await sd.close();
    t.cleanup();
  });
  beforeEach(async () => {
    sd = await startSampleDrive({ largeFileBytes: 300 * 1024 });
    t = await tempStore();
  });
  afterEach(async () => {
    await sd.close();
    t.cleanup();
  });

  describe('Method: backoff', () => {
    it('honours Retry-After on 403 userRateLimitExceeded and loses nothing', async () => {
      // Prepare
      faults([{ kind: 'rateLimit', match: 'alt=media', times: 3, retryAfterSeconds: 0.25 }]);
      const delays: number[] = [];

      // Act
      const started = Date.now();
      const r = await run({ backoff: { baseMs: 5, capMs: 40, onRetry: (i) => delays.push(i.delayMs) } });

      // Assess
      expect(sd.server.faults.fired.rateLimit).toBe(3);
      expect(delays.filter((d) => d >= 250)).toHaveLength(3);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(r.stats.retries).toBeGreaterThanOrEqual(3);
      expect(r.stats.failed).toBe(0);
      expect(await keys(t.store, P)).toEqual(clean);
    });

    it('retries 500s and 429s on listing, changes and exports', async () => {
      // Prepare
      faults([
        { kind: 'serverError', match: '/drive/v3/files\\?', times: 2 },
        { kind: 'tooManyRequests', match: '/feeds/download/export', times: 2 },
        { kind: 'serverError', match: '/admin/directory', times: 1 },
      ]);

      // Act
      const r = await run();

      // Assess
      expect(sd.server.faults.fired).toMatchObject({ serverError: 3, tooManyRequests: 2 });
      expect(r.stats.retries).toBeGreaterThanOrEqual(5);
      expect(r.subjects.every((s) => s.status === 'ok')).toBe(true);
      expect(await keys(t.store, P)).toEqual(clean);
    });

    it('resumes a dropped download with a Range request and verifies the md5', async () => {
      // Prepare: spool small so the big file goes through a temp file
      faults([{ kind: 'dropStream', match: 'alt=media', times: 4 }]);
      const ranges: string[] = [];
      const orig = sd.server.ws.openContent.bind(sd.server.ws);
      sd.server.ws.openContent = (f, start = 0, end) => { if (start > 0) ranges.push(`${f.name}@${start}`); return orig(f, start, end); };

      // Act
      const r = await run({ transfer: { spoolMemoryBytes: 64 * 1024 } });

      // Assess
      expect(sd.server.faults.fired.dropStream).toBe(4);
      expect(ranges.length).toBeGreaterThanOrEqual(4);
      expect(r.stats.failed).toBe(0);
      expect(await keys(t.store, P)).toEqual(clean);
      const big = await t.store.head('acme-drive-landing', `${P}alice@acme.example/big-video.mp4`);
      expect(big.size).toBe(300 * 1024);
    });

    it('keeps resuming a download that drops more often than maxResumes, as long as each attempt brings bytes', async () => {
      // Prepare: the big file drops 6 times (each time after half of what is left), maxResumes 2
      const big = [...sd.server.ws.files.values()].find((f) => f.name === 'big-video.mp4')!;
      faults([{ kind: 'dropStream', match: `${big.id}\\?.*alt=media`, times: 6 }]);

      // Act
      const r = await run({ transfer: { spoolMemoryBytes: 64 * 1024, maxResumes: 2 } });

      // Assess
      expect(sd.server.faults.fired.dropStream).toBe(6);
      expect(r.stats.failed).toBe(0);
      expect((await t.store.head('acme-drive-landing', `${P}alice@acme.example/big-video.mp4`)).size).toBe(300 * 1024);
    });

    it('restarts a dropped export from the beginning', async () => {
      // Prepare
      faults([{ kind: 'dropStream', match: '/feeds/download/export', times: 2 }]);

      // Act
      const r = await run();

      // Assess
      expect(r.stats.failed).toBe(0);
      expect(r.stats.retries).toBeGreaterThanOrEqual(2);
      expect(await keys(t.store, P)).toEqual(clean);
    });
  });

  describe('Method: timeouts', () => {
    it('times out a slow request and retries it', async () => {
      // Prepare
      faults([{ kind: 'slow', match: '/drive/v3/files\\?', times: 1, delayMs: 1500 }]);

      // Act
      const started = Date.now();
      const r = await run({ userFilter: 'admin@acme.example', requestTimeoutMs: 200 });

      // Assess
      expect(sd.server.faults.fired.slow).toBe(1);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(r.stats.retries).toBeGreaterThanOrEqual(1);
      expect(r.subjects[0].status).toBe('ok');
      expect(await keys(t.store, `${P}admin@acme.example/`)).toEqual([`${P}admin@acme.example/Policies/handbook.pdf`]);
    });
  });

  describe('Method: md5 check', () => {
    it('retries a download whose md5 disagrees, records the failure, and retries it next run', async () => {
      // Prepare
      const f = [...sd.server.ws.files.values()].find((x) => x.name === 'handbook.pdf')!;
      const good = f.md5Checksum;
      f.md5Checksum = '0'.repeat(32);
      let served = 0;
      const orig = sd.server.ws.openContent.bind(sd.server.ws);
      sd.server.ws.openContent = (x, start, end) => { if (x.id === f.id) served += 1; return orig(x, start, end); };

      // Act
      const r = await run({ userFilter: 'admin@acme.example' });
      f.md5Checksum = good;
      const r2 = await run({ userFilter: 'admin@acme.example' });

      // Assess
      expect(served).toBe(3 + 1);
      expect(r.subjects[0]).toMatchObject({ status: 'partial', errorCount: 1 });
      expect(r.subjects[0].events).toContainEqual(expect.objectContaining({ type: 'failed', fileId: f.id, reason: expect.stringContaining('md5 mismatch') }));
      expect(r2.subjects[0]).toMatchObject({ mode: 'incremental', status: 'ok' });
      expect(r2.stats.downloaded).toBe(1);
      expect(await keys(t.store, `${P}admin@acme.example/`)).toEqual([`${P}admin@acme.example/Policies/handbook.pdf`]);
    });
  });

  describe('Method: quotas', () => {
    it('fails each file hitting downloadQuotaExceeded (a per-file quota) while the user goes on, and the next run completes', async () => {
      // Prepare
      faults([{ kind: 'downloadQuota', match: 'alt=media', user: 'bob@acme.example' }]);

      // Act
      const r = await run();

      // Assess
      const bob = r.subjects.find((s) => s.subject === 'bob@acme.example')!;
      expect(bob.status).toBe('partial');
      const finance = r.subjects.find((s) => s.label === 'shared drive Finance')!; // read as bob, its organizer
      expect(bob.stats.failed + finance.stats.failed).toBe(sd.server.faults.fired.downloadQuota); // one attempt per file: no retry storm
      expect(bob.stats.records).toBeGreaterThan(0); // the Site and the Map still stored
      expect(r.subjects.filter((s) => s.status !== 'ok').map((s) => s.label).sort()).toEqual(['bob@acme.example', 'shared drive Finance']);

      // Act: quota back, run again
      faults([]);
      const r2 = await run();
      expect(r2.subjects.find((s) => s.subject === 'bob@acme.example')!.status).toBe('ok');
      expect(await keys(t.store, P)).toEqual(clean);
    });

    it('reports dailyLimitExceeded as quota_exceeded', async () => {
      // Prepare
      faults([{ kind: 'dailyLimit', match: '/feeds/download/export', user: 'alice@acme.example' }]);

      // Act
      const r = await run({ userFilter: 'alice@acme.example' });

      // Assess
      expect(r.subjects[0]).toMatchObject({ status: 'quota_exceeded', message: expect.stringContaining('dailyLimitExceeded') });
    });
  });

  describe('Method: crash and resume', () => {
    it('resumes after an abort without uploading any file twice or missing one', async () => {
      // Prepare
      const counting = new CountingStore(t.store);
      const ac = new AbortController();
      let seen = 0;
      sd.server.latencyMs = 3;

      // Act: abort after ~10 files, then run again
      const r1 = await run({ store: counting, signal: ac.signal, stateFlushEvery: 3, onProgress: () => { if (++seen === 10) ac.abort(); } });
      const r2 = await run({ store: counting });

      // Assess
      expect(r1.subjects.some((s) => s.status === 'aborted')).toBe(true);
      expect(r1.stats.uploaded).toBeGreaterThan(0);
      expect(r1.stats.uploaded).toBeLessThan(clean.length);
      expect(r2.subjects.every((s) => s.status === 'ok')).toBe(true);
      expect([...counting.contentPuts().values()].every((n) => n === 1)).toBe(true);
      expect(await keys(t.store, P)).toEqual(clean);
    });

    it('resumes after the store dies mid-run (state journal lost) using the objects\' own metadata', async () => {
      // Prepare: every put after the 20th fails (the lease and six state.json come first), including the state journal
      const counting = new CountingStore(t.store);
      counting.failAfter = 20;

      // Act
      const r1 = await run({ store: counting, stateFlushEvery: 1000 });
      counting.failAfter = Infinity;
      const r2 = await run({ store: counting });

      // Assess
      expect(r1.subjects.some((s) => s.status !== 'ok')).toBe(true);
      expect(r2.subjects.every((s) => s.status === 'ok')).toBe(true);
      expect(r2.stats.skippedUnchanged).toBeGreaterThan(0); // uploaded before the crash, adopted from their metadata
      expect([...counting.contentPuts().values()].every((n) => n === 1)).toBe(true);
      expect(await keys(t.store, P)).toEqual(clean);
      // A third run is a no-op incremental run.
      const r3 = await run({ store: counting });
      expect(r3.subjects.every((s) => s.mode === 'incremental')).toBe(true);
      expect(r3.stats.uploaded).toBe(0);
    });
  });
});
