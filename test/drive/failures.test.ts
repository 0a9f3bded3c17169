/** Drive ingestion: which 403s mark a file unavailable for good, and which are failures retried next run. */
import { startSampleDrive, type SampleDrive } from '../../services/sample-drive';
import { runDriveIngest, type DriveIngestOptions, type DriveRunReport } from '../../shared/drive';
import { BUCKET, driveSource, fakeServiceAccount, tempStore, type TempStore } from './helpers';

const P = 'gdrive-backup/';
const BOB = 'bob@acme.example';

describe('Function: runDriveIngest (403s)', () => {
  let sd: SampleDrive;
  let t: TempStore;
  const run = (over: Partial<DriveIngestOptions> = {}): Promise<DriveRunReport> =>
    runDriveIngest({ source: driveSource(), store: t.store, credentials: fakeServiceAccount(), rootUrl: sd.url, userFilter: BOB, backoff: { baseMs: 1, capMs: 5, maxAttempts: 2 }, ...over });
  const text = async (key: string) => (await t.store.getRange(BUCKET, key, 0, 1e6)).toString();
  const put = (name: string, data: string) => sd.server.ws.create({ name, mimeType: 'text/plain', owner: BOB, content: { kind: 'buffer', data: Buffer.from(data) } });

  beforeEach(async () => {
    sd = await startSampleDrive({ largeFileBytes: 64 * 1024 });
    t = await tempStore();
  });
  afterEach(async () => {
    await sd.close();
    t.cleanup();
  });

  describe('Method: fail', () => {
    it('records a 403 without a known permanent reason as failed, and retries it next run', async () => {
      // Prepare: one download answers 403 with no reason, another 403 with an unlisted reason
      const a = put('no-reason.txt', 'a\n');
      const b = put('other-reason.txt', 'b\n');
      sd.server.faults.set([
        { kind: 'forbidden', match: `${a.id}\\?.*alt=media` },
        { kind: 'forbidden', reason: 'insufficientFilePermissions', match: `${b.id}\\?.*alt=media` },
      ]);

      // Act
      const r = await run();

      // Assess
      expect(r.subjects[0].status).toBe('partial');
      expect(r.stats).toMatchObject({ failed: 2, unavailable: 0 });
      expect(r.subjects[0].events.filter((e) => e.type === 'failed').map((e) => e.fileId).sort()).toEqual([a.id, b.id].sort());

      // Act: the 403s clear; the next run retries both
      sd.server.faults.set([]);
      const r2 = await run();

      // Assess
      expect(r2.subjects[0].status).toBe('ok');
      expect(await text(`${P}${BOB}/no-reason.txt`)).toBe('a\n');
      expect(await text(`${P}${BOB}/other-reason.txt`)).toBe('b\n');
    });

    it('still records a known permanent 403 reason as unavailable', async () => {
      // Prepare
      const c = put('locked.txt', 'c\n');
      sd.server.faults.set([{ kind: 'forbidden', reason: 'cannotDownloadFile', match: `${c.id}\\?.*alt=media` }]);

      // Act
      const r = await run();

      // Assess
      expect(r.subjects[0].status).toBe('ok');
      expect(r.stats).toMatchObject({ failed: 0, unavailable: 1 });
      expect(r.subjects[0].events).toContainEqual(expect.objectContaining({ type: 'unavailable', fileId: c.id, reason: expect.stringContaining('cannotDownloadFile') }));
    });
  });
});
