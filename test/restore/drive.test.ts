/** `xregion restore --to drive://…` against the sample Drive, through the real googleapis client. */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { google, type drive_v3 } from 'googleapis';
import { sampleCredentials, startSampleDrive, type SampleDrive } from '../../services/sample-drive';
import { AuthFactory } from '../../shared/drive';
import { patternSha256 } from '../helpers/bytes';
import { buildCatalogFixture, cli, type CatalogFixture } from './catalogFixture';

const ALICE = 'alice@acme.example';
const opts = { retry: false, fetchImplementation: globalThis.fetch } as const;
let f: CatalogFixture;
let sd: SampleDrive;
let credsFile: string;
let drive: drive_v3.Drive;

beforeAll(async () => {
  f = await buildCatalogFixture();
  sd = await startSampleDrive({ largeFileBytes: 10_000 });
  credsFile = join(mkdtempSync(join(tmpdir(), 'xregion-drive-creds-')), 'sa.json');
  writeFileSync(credsFile, JSON.stringify(sampleCredentials()));
  drive = google.drive({ version: 'v3', auth: new AuthFactory(sampleCredentials(), sd.url, ['https://www.googleapis.com/auth/drive']).forSubject(ALICE), rootUrl: sd.url });
}, 60_000);
afterAll(async () => {
  await sd?.close();
  f?.cleanup();
});

async function folder(name: string): Promise<string> {
  const r = await drive.files.create({ requestBody: { name, mimeType: 'application/vnd.google-apps.folder', parents: ['root'] }, fields: 'id' }, { ...opts, rootUrl: sd.url });
  return r.data.id as string;
}

async function child(parent: string, name: string): Promise<drive_v3.Schema$File | undefined> {
  const r = await drive.files.list({ q: `'${parent}' in parents and name = '${name}' and trashed = false`, fields: 'files(id,name,mimeType,description)' }, opts);
  return r.data.files?.[0];
}

async function at(parent: string, path: string): Promise<drive_v3.Schema$File | undefined> {
  let cur: drive_v3.Schema$File | undefined = { id: parent };
  for (const part of path.split('/')) cur = cur?.id ? await child(cur.id, part) : undefined;
  return cur;
}

async function sha256Of(id: string): Promise<string> {
  const r = await drive.files.get({ fileId: id, alt: 'media' }, { ...opts, responseType: 'stream' });
  const body = r.data as unknown;
  const h = createHash('sha256');
  for await (const c of body instanceof Readable ? body : Readable.fromWeb(body as WebReadableStream)) h.update(c as Buffer);
  return h.digest('hex');
}

const restoreArgs = (folderId: string, ...extra: string[]) => [
  'restore', '--user', 'carol@acme.com', '--to', `drive://${ALICE}/${folderId}`,
  '--drive-credentials', credsFile, '--drive-root-url', sd.url, '--json', '--config', f.configFile, '--data-dir', f.dataDir, ...extra,
];

describe('Class: DriveTarget (sample Drive)', () => {
  it('recreates the folder tree and uploads verified bytes; a re-run finds every file identical', async () => {
    // Prepare
    const target = await folder('restored-plain');
    // Act
    const r = await cli(restoreArgs(target));
    const again = await cli(restoreArgs(target));
    // Assess
    if (r.code !== 0) throw new Error(r.stderr + r.stdout);
    expect(JSON.parse(r.stdout)).toMatchObject({ restored: 2, failed: 0 });
    const doc = await at(target, 'carol@acme.com/Plans/roadmap.docx');
    expect(doc?.mimeType).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    expect(await sha256Of(doc!.id!)).toBe(patternSha256(52, 2_400));
    const csv = await at(target, 'old/year-end.csv');
    expect(await sha256Of(csv!.id!)).toBe(patternSha256(51, 1_100));
    expect(JSON.parse(again.stdout)).toMatchObject({ restored: 0, identical: 2 });
  });

  it('--convert turns an exported Google Doc back into a Google Doc (without its extension)', async () => {
    const target = await folder('restored-converted');
    const r = await cli(restoreArgs(target, '--convert'));
    if (r.code !== 0) throw new Error(r.stderr + r.stdout);
    const doc = await at(target, 'carol@acme.com/Plans/roadmap');
    expect(doc?.mimeType).toBe('application/vnd.google-apps.document');
    expect(await at(target, 'old/year-end.csv')).toMatchObject({ mimeType: 'text/csv' });
    // A re-run knows the converted Doc (no checksum in Drive) by its untouched modifiedTime...
    const again = await cli(restoreArgs(target, '--convert'));
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ restored: 0, conflicts: 0 });
    // ...and once someone edits the Doc, it is a conflict, not "identical".
    await drive.files.update({ fileId: doc!.id!, requestBody: { name: 'roadmap', modifiedTime: new Date().toISOString() }, fields: 'id' }, { ...opts, rootUrl: sd.url });
    const edited = await cli(restoreArgs(target, '--convert'));
    expect(edited.code).toBe(1);
    expect(JSON.parse(edited.stdout)).toMatchObject({ restored: 0, conflicts: 1 });
  });

  it('refuses a different existing file without --overwrite', async () => {
    const target = await folder('restored-conflict');
    const old = await drive.files.create({ requestBody: { name: 'old', mimeType: 'application/vnd.google-apps.folder', parents: [target] }, fields: 'id' }, { ...opts, rootUrl: sd.url });
    await drive.files.create({ requestBody: { name: 'year-end.csv', parents: [old.data.id!] }, media: { mimeType: 'text/csv', body: 'someone else wrote this' }, fields: 'id' }, { ...opts, rootUrl: sd.url });
    const r = await cli(restoreArgs(target));
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ restored: 1, conflicts: 1 });
  });

  it('--overwrite replaces a Drive copy changed since the restore with a new revision (files.update)', async () => {
    // Prepare
    const target = await folder('restored-overwrite');
    const first = await cli(restoreArgs(target));
    if (first.code !== 0) throw new Error(first.stderr + first.stdout);
    const csv = (await at(target, 'old/year-end.csv'))!;
    // Someone edits the Drive copy's content; the description still carries xregion's tags, but
    // Drive's md5Checksum no longer matches the recorded md5, so this must not count as identical.
    await drive.files.update({ fileId: csv.id!, media: { mimeType: 'text/csv', body: 'edited in Drive\n' } }, { ...opts, rootUrl: sd.url });
    const edited = await sha256Of(csv.id!);

    // Act
    const refused = await cli(restoreArgs(target));
    const afterRefusal = await sha256Of(csv.id!);
    const updatesBefore = sd.stats['files.update(upload)'] ?? 0;
    const overwritten = await cli(restoreArgs(target, '--overwrite'));
    const again = await cli(restoreArgs(target));

    // Assess
    expect(edited).not.toBe(patternSha256(51, 1_100));
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ restored: 0, identical: 1, conflicts: 1 });
    expect(afterRefusal).toBe(edited);
    if (overwritten.code !== 0) throw new Error(overwritten.stderr + overwritten.stdout);
    expect(JSON.parse(overwritten.stdout)).toMatchObject({ restored: 1, identical: 1, conflicts: 0 });
    expect(await sha256Of(csv.id!)).toBe(patternSha256(51, 1_100));
    expect((await at(target, 'old/year-end.csv'))?.id).toBe(csv.id); // same file, new revision
    expect(sd.stats['files.update(upload)']).toBe(updatesBefore + 1);
    expect(JSON.parse(again.stdout)).toMatchObject({ restored: 0, identical: 2 });
  });
});
