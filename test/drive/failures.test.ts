/** Drive ingestion: which 403s mark a file unavailable for good, and which are failures retried next run. */
import { BUCKET, driveTestEnv } from './helpers';

const P = 'gdrive-backup/';
const BOB = 'bob@acme.example';

describe('Function: runDriveIngest (403s)', () => {
  const env = driveTestEnv(64 * 1024, { userFilter: BOB, backoff: { baseMs: 1, capMs: 5, maxAttempts: 2 } });
  const run = env.run;
  const text = async (key: string) => (await env.t.store.getRange(BUCKET, key, 0, 1e6)).toString();
  const put = (name: string, data: string) => env.sd.server.ws.create({ name, mimeType: 'text/plain', owner: BOB, content: { kind: 'buffer', data: Buffer.from(data) } });


  describe('Method: fail', () => {
    it('records a 403 without a known permanent reason as failed, and retries it next run', async () => {
      // Prepare: one download answers 403 with no reason, another 403 with an unlisted reason
      const a = put('no-reason.txt', 'a\n');
      const b = put('other-reason.txt', 'b\n');
      env.sd.server.faults.set([
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
      env.sd.server.faults.set([]);
      const r2 = await run();

      // Assess
      expect(r2.subjects[0].status).toBe('ok');
      expect(await text(`${P}${BOB}/no-reason.txt`)).toBe('a\n');
      expect(await text(`${P}${BOB}/other-reason.txt`)).toBe('b\n');
    });

    it('still records a known permanent 403 reason as unavailable', async () => {
      // Prepare
      const c = put('locked.txt', 'c\n');
      env.sd.server.faults.set([{ kind: 'forbidden', reason: 'cannotDownloadFile', match: `${c.id}\\?.*alt=media` }]);

      // Act
      const r = await run();

      // Assess
      expect(r.subjects[0].status).toBe('ok');
      expect(r.stats).toMatchObject({ failed: 0, unavailable: 1 });
      expect(r.subjects[0].events).toContainEqual(expect.objectContaining({ type: 'unavailable', fileId: c.id, reason: expect.stringContaining('cannotDownloadFile') }));
    });
  });
});
