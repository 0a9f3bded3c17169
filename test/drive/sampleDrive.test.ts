/** The sample Drive server, through the real googleapis client (and raw HTTP where googleapis has no helper). */
import { createHash } from 'node:crypto';
import { google, type drive_v3 } from 'googleapis';
import { startSampleDrive, type SampleDrive } from '../../services/sample-drive';
import { AuthFactory, runDriveIngest } from '../../shared/drive';
import { driveSource, fakeServiceAccount, keys, tempStore } from './helpers';

const ALICE = 'alice@acme.example';

interface HttpFailure {
  status: number;
  response: { data: unknown; headers: Headers };
}

/** The error a call must fail with. */
const failure = (p: Promise<unknown>): Promise<HttpFailure> =>
  p.then(
    () => { throw new Error('expected the call to fail'); },
    (e: unknown) => e as HttpFailure,
  );

describe('Class: SampleDriveServer', () => {
  let sd: SampleDrive;
  let auth: AuthFactory;
  let drive: drive_v3.Drive;
  const as = (user: string) => google.drive({ version: 'v3', auth: auth.forSubject(user), rootUrl: sd.url });
  const opts = { retry: false, fetchImplementation: globalThis.fetch } as const;

  beforeAll(async () => {
    sd = await startSampleDrive({ largeFileBytes: 100_000 });
    auth = new AuthFactory(fakeServiceAccount(), sd.url);
    drive = as(ALICE);
  });
  afterAll(() => sd.close());

  describe('Method: files.list', () => {
    it('filters with q, trims to fields and pages', async () => {
      // Prepare
      const reports = (await drive.files.list({ q: "name = 'Reports' and mimeType = 'application/vnd.google-apps.folder'", fields: 'files(id)' }, opts)).data.files![0];

      // Act
      const page1 = await drive.files.list({ q: `'${reports.id}' in parents and trashed = false and mimeType != 'application/vnd.google-apps.spreadsheet'`, pageSize: 2, fields: 'nextPageToken,files(name,size)' }, opts);
      const page2 = await drive.files.list({ q: `'${reports.id}' in parents and trashed = false and mimeType != 'application/vnd.google-apps.spreadsheet'`, pageSize: 2, pageToken: page1.data.nextPageToken!, fields: 'nextPageToken,files(name,size)' }, opts);

      // Assess
      expect(page1.data.files).toEqual([{ name: 'q1.pdf', size: '3000' }, { name: 'notes.txt', size: '12' }]);
      expect(page2.data.files).toEqual([{ name: 'notes.txt', size: '24' }, { name: 'logo.png', size: '1500' }]);
      expect(page2.data.nextPageToken).toBeUndefined();
    });

    it('answers an invalid q with 400 and the Google error shape', async () => {
      // Act
      const err = await failure(drive.files.list({ q: "bogus ~ 'x'" }, opts));

      // Assess
      expect(err.status).toBe(400);
      expect(err.response.data).toMatchObject({ error: { code: 400, errors: [{ domain: 'global', reason: 'invalid' }] } });
    });

    it('lists a shared drive only for its members', async () => {
      // Prepare
      const drives = (await as('admin@acme.example').drives.list({ useDomainAdminAccess: true }, opts)).data.drives!;

      // Act
      const files = await drive.files.list({ corpora: 'drive', driveId: drives[0].id!, includeItemsFromAllDrives: true, supportsAllDrives: true, fields: 'files(name,driveId)' }, opts);
      const bob = await as('bob@acme.example').files.list({ corpora: 'drive', driveId: drives[0].id!, includeItemsFromAllDrives: true, supportsAllDrives: true }, opts).catch((e: { status: number }) => e);

      // Assess
      expect(drives.map((d) => d.name)).toEqual(['Engineering', 'Finance']); // a domain admin sees every shared drive
      expect(files.data.files!.map((f) => f.name)).toEqual(['Specs', 'api-spec.yaml', 'Design Doc']);
      expect((bob as { status: number }).status).toBe(404);
    });
  });

  describe('Method: files.get', () => {
    it('returns default fields, bytes, and byte ranges (206) of a binary file', async () => {
      // Prepare
      const big = (await drive.files.list({ q: "name = 'big-video.mp4'", fields: 'files(id,md5Checksum,size)' }, opts)).data.files![0];

      // Act
      const meta = await drive.files.get({ fileId: big.id! }, opts);
      const whole = await drive.files.get({ fileId: big.id!, alt: 'media' }, { ...opts, responseType: 'arraybuffer' });
      const part = await drive.files.get({ fileId: big.id!, alt: 'media' }, { ...opts, responseType: 'arraybuffer', headers: { Range: 'bytes=1000-1999' } });

      // Assess
      expect(Object.keys(meta.data).sort()).toEqual(['id', 'kind', 'mimeType', 'name']);
      const bytes = Buffer.from(whole.data as ArrayBuffer);
      expect(bytes.length).toBe(100_000);
      expect(createHash('md5').update(bytes).digest('hex')).toBe(big.md5Checksum);
      expect(part.status).toBe(206);
      expect(Buffer.from(part.data as ArrayBuffer)).toEqual(bytes.subarray(1000, 2000));
    });

    it('refuses alt=media for Docs and for files that cannot be downloaded', async () => {
      // Prepare
      const list = (await drive.files.list({ q: "name = 'Roadmap' or name = 'Confidential.pdf'", fields: 'files(id,name,capabilities(canDownload),exportLinks)' }, opts)).data.files!;
      const doc = list.find((f) => f.name === 'Roadmap')!;
      const conf = list.find((f) => f.name === 'Confidential.pdf')!;

      // Act
      const e1 = await drive.files.get({ fileId: doc.id!, alt: 'media' }, opts).catch((e: { response: { data: unknown } }) => e.response.data);
      const e2 = await drive.files.get({ fileId: conf.id!, alt: 'media' }, opts).catch((e: { response: { data: unknown } }) => e.response.data);
      const exported = await auth.forSubject(ALICE).request<ArrayBuffer>({ url: doc.exportLinks!['application/pdf'], responseType: 'arraybuffer', ...opts });

      // Assess
      expect(e1).toMatchObject({ error: { code: 403, errors: [{ reason: 'fileNotDownloadable' }] } });
      expect(e2).toMatchObject({ error: { code: 403, errors: [{ reason: 'cannotDownloadFile' }] } });
      expect(conf.capabilities).toEqual({ canDownload: false });
      expect(exported.headers.get('content-type')).toBe('application/pdf');
      expect(Buffer.from(exported.data).subarray(0, 5).toString()).toBe('%PDF-');
    });
  });

  describe('Method: files.get (abuse flag)', () => {
    it('serves a file flagged as abusive only to its owner acknowledging the risk', async () => {
      // Prepare
      const bob = as('bob@acme.example');
      const f = (await bob.files.list({ q: "name = 'flagged.zip'", fields: 'files(id)' }, opts)).data.files![0];

      // Act
      const refused = await failure(bob.files.get({ fileId: f.id!, alt: 'media' }, opts));
      const ok = await bob.files.get({ fileId: f.id!, alt: 'media', acknowledgeAbuse: true }, { ...opts, responseType: 'arraybuffer' });

      // Assess
      expect(refused.response.data).toMatchObject({ error: { code: 403, errors: [{ reason: 'cannotDownloadAbusiveFile' }] } });
      expect((ok.data as ArrayBuffer).byteLength).toBe(600);
    });
  });

  describe('Method: files.create', () => {
    it('accepts multipart uploads through googleapis', async () => {
      // Act
      const created = await drive.files.create({ requestBody: { name: 'restored.txt' }, media: { mimeType: 'text/plain', body: 'restored bytes' }, fields: 'id,name,md5Checksum,size,parents' }, { ...opts, rootUrl: sd.url });

      // Assess
      expect(created.data).toMatchObject({ name: 'restored.txt', size: '14', md5Checksum: createHash('md5').update('restored bytes').digest('hex') });
    });

    it('accepts resumable uploads in chunks (308 then 200)', async () => {
      // Prepare
      const a = auth.forSubject(ALICE);
      const body = Buffer.alloc(300_000, 7);

      // Act
      const start = await a.request({ url: `${sd.url}upload/drive/v3/files?uploadType=resumable`, method: 'POST', data: { name: 'big-restore.bin' }, headers: { 'X-Upload-Content-Length': String(body.length) }, ...opts });
      const session = start.headers.get('location')!;
      const first = await a.request({ url: session, method: 'PUT', data: body.subarray(0, 262_144), headers: { 'Content-Range': `bytes 0-262143/${body.length}` }, validateStatus: () => true, ...opts });
      const last = await a.request<{ id: string; size: string; md5Checksum: string }>({ url: `${session}&fields=id,size,md5Checksum`, method: 'PUT', data: body.subarray(262_144), headers: { 'Content-Range': `bytes 262144-${body.length - 1}/${body.length}` }, ...opts });

      // Assess
      expect(first.status).toBe(308);
      expect(first.headers.get('range')).toBe('bytes=0-262143');
      expect(last.data).toMatchObject({ size: String(body.length), md5Checksum: createHash('md5').update(body).digest('hex') });
    });
  });

  describe('Method: files.update', () => {
    it('uploads a new revision (multipart) with new metadata, and logs a change', async () => {
      // Prepare
      const made = await drive.files.create({ requestBody: { name: 'rev.txt' }, media: { mimeType: 'text/plain', body: 'first bytes' }, fields: 'id,version,headRevisionId,modifiedTime' }, { ...opts, rootUrl: sd.url });
      const token = (await drive.changes.getStartPageToken({}, opts)).data.startPageToken!;

      // Act
      const updated = await drive.files.update(
        { fileId: made.data.id!, requestBody: { name: 'rev-2.txt', description: 'second' }, media: { mimeType: 'text/plain', body: 'second bytes, longer' }, fields: 'id,name,description,size,md5Checksum,version,headRevisionId,modifiedTime' },
        { ...opts, rootUrl: sd.url },
      );
      const renamed = await drive.files.update({ fileId: made.data.id!, requestBody: { name: 'rev-3.txt' }, fields: 'name,size' }, opts);
      const bytes = await drive.files.get({ fileId: made.data.id!, alt: 'media' }, { ...opts, responseType: 'text' });
      const changes = await drive.changes.list({ pageToken: token, fields: 'changes(fileId,file(name))' }, opts);

      // Assess
      expect(updated.data).toMatchObject({ id: made.data.id, name: 'rev-2.txt', description: 'second', size: '20', md5Checksum: createHash('md5').update('second bytes, longer').digest('hex') });
      expect(Number(updated.data.version)).toBeGreaterThan(Number(made.data.version));
      expect(updated.data.headRevisionId).not.toBe(made.data.headRevisionId);
      expect(updated.data.modifiedTime! > made.data.modifiedTime!).toBe(true);
      expect(renamed.data).toEqual({ name: 'rev-3.txt', size: '20' });
      expect(bytes.data).toBe('second bytes, longer');
      expect(changes.data.changes).toEqual([{ fileId: made.data.id, file: { name: 'rev-3.txt' } }, { fileId: made.data.id, file: { name: 'rev-3.txt' } }]);
    });

    it('updates content through uploadType=media and a resumable session on /upload/drive/v3/files/{id}', async () => {
      // Prepare
      const a = auth.forSubject(ALICE);
      const made = await drive.files.create({ requestBody: { name: 'resume.bin' }, media: { mimeType: 'application/octet-stream', body: 'v1' }, fields: 'id' }, { ...opts, rootUrl: sd.url });
      const url = `${sd.url}upload/drive/v3/files/${made.data.id}`;

      // Act
      const media = await drive.files.update({ fileId: made.data.id!, media: { mimeType: 'application/octet-stream', body: 'v2 bytes' }, fields: 'size' }, { ...opts, rootUrl: sd.url });
      const start = await a.request({ url: `${url}?uploadType=resumable`, method: 'PATCH', data: { description: 'resumed' }, headers: { 'X-Upload-Content-Length': '11' }, ...opts });
      const done = await a.request<Record<string, string>>({ url: `${start.headers.get('location')!}&fields=id,size,md5Checksum,description`, method: 'PUT', data: Buffer.from('v3 resumed!'), ...opts });

      // Assess
      expect(media.data).toEqual({ size: '8' });
      expect(start.headers.get('location')).toContain(`/upload/drive/v3/files/${made.data.id}?`);
      expect(done.data).toEqual({ id: made.data.id, size: '11', md5Checksum: createHash('md5').update('v3 resumed!').digest('hex'), description: 'resumed' });
    });

    it('answers 404 notFound for a missing id and 403 for a reader', async () => {
      // Prepare
      const plan = (await drive.files.list({ q: "name = 'Plan'", fields: 'files(id,capabilities(canEdit))' }, opts)).data.files![0];

      // Act
      const missing = await failure(drive.files.update({ fileId: 'no-such-file', requestBody: { name: 'x' } }, opts));
      const reader = await failure(drive.files.update({ fileId: plan.id!, requestBody: { name: 'mine now' } }, opts));

      // Assess
      expect(missing.status).toBe(404);
      expect(missing.response.data).toMatchObject({ error: { errors: [{ reason: 'notFound' }] } });
      expect(plan.capabilities?.canEdit).toBe(false);
      expect(reader.status).toBe(403);
      expect(reader.response.data).toMatchObject({ error: { errors: [{ reason: 'insufficientFilePermissions' }] } });
    });
  });

  describe('Method: changes', () => {
    it('lists the scripted edits after a start token, with removals, in pages', async () => {
      // Prepare
      const token = (await drive.changes.getStartPageToken({}, opts)).data.startPageToken!;
      sd.simulateChanges();

      // Act
      const p1 = await drive.changes.list({ pageToken: token, pageSize: 3, fields: 'nextPageToken,newStartPageToken,changes(fileId,removed,file(name,trashed))' }, opts);
      const p2 = await drive.changes.list({ pageToken: p1.data.nextPageToken!, pageSize: 100, fields: 'nextPageToken,newStartPageToken,changes(fileId,removed,file(name,trashed))' }, opts);

      // Assess
      const all = [...p1.data.changes!, ...p2.data.changes!];
      expect(p1.data.changes).toHaveLength(3);
      expect(p2.data.newStartPageToken).toBeDefined();
      expect(all.map((c) => (c.removed ? 'removed' : `${c.file!.name}${c.file!.trashed ? ' (trashed)' : ''}`))).toEqual([
        'notes.txt', 'Roadmap', 'added-1.csv', 'q1.pdf (trashed)', 'removed',
      ]);
    });
  });

  describe('Method: users.list and token', () => {
    it('lists users for an admin only, and refuses tokens for suspended users', async () => {
      // Prepare
      const dir = (user: string) => google.admin({ version: 'directory_v1', auth: auth.forSubject(user), rootUrl: sd.url });

      // Act
      const users = await dir('admin@acme.example').users.list({ customer: 'my_customer', maxResults: 2 }, opts);
      const denied = await dir(ALICE).users.list({ customer: 'my_customer' }, opts).catch((e: { status: number }) => e.status);
      const suspended = await as('dave@acme.example').files.list({}, opts).catch((e: Error) => e.message);

      // Assess
      expect(users.data.users!.map((u) => u.primaryEmail)).toEqual(['admin@acme.example', ALICE]);
      expect(users.data.nextPageToken).toBeDefined();
      expect(denied).toBe(403);
      expect(suspended).toMatch(/suspended/);
    });

    it('serves one person through the OAuth refresh_token grant', async () => {
      // Prepare
      const t = await tempStore();

      // Act
      const r = await runDriveIngest({
        source: driveSource({ users: [ALICE], shared_drives: false }), store: t.store, rootUrl: sd.url,
        credentials: { type: 'authorized_user', client_id: 'sample-client', client_secret: 'sample-secret', refresh_token: `sample-refresh:${ALICE}` },
      });

      // Assess
      expect(r.subjects.map((s) => [s.subject, s.status])).toEqual([[ALICE, 'ok']]);
      expect((await keys(t.store, `gdrive-backup/${ALICE}/`)).length).toBeGreaterThan(10);
      expect(await keys(t.store, 'gdrive-backup/bob')).toEqual([]);
      expect(await keys(t.store, r.recordKey)).toEqual([r.recordKey]);
      t.cleanup();
    });
  });

  describe('Method: faults', () => {
    it('answers 403 userRateLimitExceeded with Retry-After in Google\'s error shape', async () => {
      // Prepare
      sd.server.faults.set([{ kind: 'rateLimit', match: '/drive/v3/about', times: 1, retryAfterSeconds: 2 }]);

      // Act
      const err = await failure(drive.about.get({ fields: 'user' }, opts));
      const ok = await drive.about.get({ fields: 'user' }, opts);

      // Assess
      expect(err.status).toBe(403);
      expect(err.response.headers.get('retry-after')).toBe('2');
      expect(err.response.data).toEqual({ error: { code: 403, message: 'User rate limit exceeded.', errors: [{ domain: 'usageLimits', reason: 'userRateLimitExceeded', message: 'User rate limit exceeded.' }] } });
      expect(ok.data.user?.emailAddress).toBe(ALICE);
    });
  });
});
