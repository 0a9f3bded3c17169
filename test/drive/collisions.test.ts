/** Drive ingestion: key collisions between same-named shared drives and files whose last backup must survive a failure. */
import { startSampleDrive, type SampleDrive } from '../../services/sample-drive';
import { FOLDER_MIME } from '../../shared/drive/mimeTypes';
import { runDriveIngest, type DriveIngestOptions, type DriveRunReport } from '../../shared/drive';
import { BUCKET, driveSource, fakeServiceAccount, keys, tempStore, type TempStore } from './helpers';

const P = 'gdrive-backup/';

describe('Function: runDriveIngest (collisions)', () => {
  let sd: SampleDrive;
  let t: TempStore;
  const run = (over: Partial<DriveIngestOptions> = {}, src: Record<string, unknown> = {}): Promise<DriveRunReport> =>
    runDriveIngest({ source: driveSource(src), store: t.store, credentials: fakeServiceAccount(), rootUrl: sd.url, backoff: { baseMs: 2, capMs: 10, maxAttempts: 2 }, ...over });
  const text = async (key: string) => (await t.store.getRange(BUCKET, key, 0, 1e6)).toString();

  beforeEach(async () => {
    sd = await startSampleDrive({ largeFileBytes: 64 * 1024 });
    t = await tempStore();
  });
  afterEach(async () => {
    await sd.close();
    t.cleanup();
  });

  describe('Method: shared drives', () => {
    it('gives two shared drives of one name separate key segments', async () => {
      // Prepare: a second drive named like the seeded "Engineering", with the same file path
      const ws = sd.server.ws;
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
      expect(await keys(t.store, `${P}shared-drives/Engineering/`)).toEqual([]);
    });
  });
});
