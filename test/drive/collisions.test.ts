/** Drive ingestion: key collisions between same-named shared drives and files whose last backup must survive a failure. */
import { FOLDER_MIME } from '../../shared/drive/mimeTypes';
import { BUCKET, driveTestEnv, keys } from './helpers';

const P = 'gdrive-backup/';

describe('Function: runDriveIngest (collisions)', () => {
  const env = driveTestEnv(64 * 1024, { backoff: { baseMs: 2, capMs: 10, maxAttempts: 2 } });
  const run = env.run;
  const text = async (key: string) => (await env.t.store.getRange(BUCKET, key, 0, 1e6)).toString();


  describe('Method: shared drives', () => {
    it('gives two shared drives of one name separate key segments', async () => {
      // Prepare: a second drive named like the seeded "Engineering", with the same file path
      const ws = env.sd.server.ws;
      const eng = ws.drives.find((d) => d.name === 'Engineering')!;
      const other = ws.addDrive('Engineering', ['admin@acme.example']);
      const specs = ws.create({ name: 'Specs', mimeType: FOLDER_MIME, owner: 'admin@acme.example', parent: other.id, driveId: other.id });
      ws.create({ name: 'api-spec.yaml', mimeType: 'application/x-yaml', owner: 'admin@acme.example', parent: specs.id, driveId: other.id, content: { kind: 'buffer', data: Buffer.from('other drive\n') } });

      // Act
      const r = await run();

      // Assess
      expect(r.subjects.every((s) => s.status === 'ok')).toBe(true);
      const a = `${P}shared-drives/Engineering [${eng.id}]/Specs/api-spec.yaml`;
      const b = `${P}shared-drives/Engineering [${other.id}]/Specs/api-spec.yaml`;
      expect(await text(a)).toBe('openapi: 3.0.0\n');
      expect(await text(b)).toBe('other drive\n');
      expect(await keys(env.t.store, `${P}shared-drives/Engineering/`)).toEqual([]);
    });
  });
  describe('Method: kept backups', () => {
    const BOB = 'bob@acme.example';
    const put = (name: string, data: string) => env.sd.server.ws.create({ name, mimeType: 'text/plain', owner: BOB, content: { kind: 'buffer', data: Buffer.from(data) } });

    it('keeps the path of a backed-up file whose new version fails, so a new same-named file cannot overwrite it', async () => {
      // Prepare: keep.txt is backed up; then it changes and its download fails, and a new keep.txt appears
      const ws = env.sd.server.ws;
      const x = put('keep.txt', 'good\n');
      await run({ userFilter: BOB }, { concurrency: 1 });
      ws.update(x, (f) => ws.setContent(f, { kind: 'buffer', data: Buffer.from('newer\n') }));
      for (let i = 0; i < 4; i++) put(`filler-${i}.txt`, `${i}\n`); // the failure lands before the new file is planned
      const y = put('keep.txt', 'intruder\n');
      env.sd.server.faults.set([{ kind: 'serverError', match: `${x.id}\\?.*alt=media` }]);

      // Act
      const r = await run({ userFilter: BOB, backoff: { baseMs: 1, capMs: 2, maxAttempts: 1 } }, { concurrency: 1 });

      // Assess
      expect(r.subjects[0]).toMatchObject({ status: 'partial' });
      expect(r.subjects[0].stats.failed).toBe(1);
      expect(await text(`${P}${BOB}/keep.txt`)).toBe('good\n');
      expect(await text(`${P}${BOB}/keep [${y.id}].txt`)).toBe('intruder\n');

      // Act: the fault clears; the next run retries the failed file at its own path
      env.sd.server.faults.set([]);
      const r2 = await run({ userFilter: BOB }, { concurrency: 1 });
      expect(r2.subjects[0].status).toBe('ok');
      expect(await text(`${P}${BOB}/keep.txt`)).toBe('newer\n');
      expect(await text(`${P}${BOB}/keep [${y.id}].txt`)).toBe('intruder\n');
    });

    it('keeps the path of a backed-up file that becomes excluded', async () => {
      // Prepare: keep.txt is backed up; then it grows past max_file_size_mb and a small keep.txt appears
      const ws = env.sd.server.ws;
      const x = put('keep.txt', 'good\n');
      await run({ userFilter: BOB }, { max_file_size_mb: 1 });
      ws.update(x, (f) => ws.setContent(f, { kind: 'generated', size: 1024 * 1024 + 1, seed: 3 }));
      const y = put('keep.txt', 'intruder\n');

      // Act
      const r = await run({ userFilter: BOB }, { max_file_size_mb: 1 });

      // Assess
      expect(r.subjects[0].events).toContainEqual(expect.objectContaining({ type: 'excluded', fileId: x.id }));
      expect(await text(`${P}${BOB}/keep.txt`)).toBe('good\n');
      expect(await text(`${P}${BOB}/keep [${y.id}].txt`)).toBe('intruder\n');
    });
  });
});
