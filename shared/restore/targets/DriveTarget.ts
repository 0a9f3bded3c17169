/**
 * Restores into a Google Drive folder as one user: recreates the folder tree under the folder,
 * spools each file to a temporary file and uploads it only once its sha256 matched (Drive has
 * no conditional commit), and records the sha256 and md5 of the upload in the file's description
 * so a re-run knows an identical file without downloading it, as long as Drive's md5Checksum still
 * equals that md5 (an edit in Drive changes it; anything else is downloaded and hashed). With `convert`, files that were exported from
 * Google Docs/Sheets/Slides (their `drive-mime-type` metadata) are uploaded as that Google type.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { google, type drive_v3 } from 'googleapis';
import { validateMemberName } from '../../archive';
import { FOLDER_MIME } from '../../drive';
import type { DriveAuth } from '../../drive/credentials';
import { RestoreError } from '../errors';
import type { RestoreTarget, TargetFile, TargetState } from './port';

/** Google-native types a restored Office/OpenDocument export converts back into. */
const CONVERTIBLE = new Set(['application/vnd.google-apps.document', 'application/vnd.google-apps.spreadsheet', 'application/vnd.google-apps.presentation']);
const SHA_TAG = 'xregion-sha256:';
/** md5 of the bytes we uploaded: Drive's live md5Checksum differs once someone edits the file. */
const MD5_TAG = 'xregion-md5:';

export interface DriveTargetOptions {
  auth: DriveAuth;
  /** Folder to restore into ('root' for My Drive). */
  folderId: string;
  /** Sample Drive / emulator base URL (uploads need it per call). */
  rootUrl?: string;
  /** Turn exported Office files back into Google Docs/Sheets/Slides. */
  convert?: boolean;
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export class DriveTarget implements RestoreTarget {
  readonly needsMetadata = true;
  private readonly drive: drive_v3.Drive;
  private readonly folders = new Map<string, Promise<string>>();
  private tmp: Promise<string> | undefined;

  constructor(private readonly opts: DriveTargetOptions) {
    this.drive = google.drive({ version: 'v3', auth: opts.auth, ...(opts.rootUrl ? { rootUrl: opts.rootUrl } : {}) });
  }

  private get call() {
    return { ...(this.opts.rootUrl ? { rootUrl: this.opts.rootUrl } : {}), fetchImplementation: globalThis.fetch, retry: false };
  }

  describe(path: string): string {
    return `drive://${this.opts.folderId}/${path}`;
  }

  /** Id of the folder at `dir` (a `/` path under the target folder), creating missing ones once. */
  private folder(dir: string): Promise<string> {
    if (dir === '') return Promise.resolve(this.opts.folderId);
    let p = this.folders.get(dir);
    if (!p) {
      const cut = dir.lastIndexOf('/');
      const parentDir = cut < 0 ? '' : dir.slice(0, cut);
      const name = dir.slice(cut + 1);
      p = this.folder(parentDir).then(async (parent) => {
        const found = await this.find(parent, name, true);
        if (found?.id) return found.id;
        const r = await this.drive.files.create({ requestBody: { name, mimeType: FOLDER_MIME, parents: [parent] }, fields: 'id' }, this.call);
        return r.data.id as string;
      });
      this.folders.set(dir, p);
      p.catch(() => this.folders.delete(dir));
    }
    return p;
  }

  private async find(parent: string, name: string, folder: boolean): Promise<drive_v3.Schema$File | undefined> {
    const q = `${quote(parent)} in parents and name = ${quote(name)} and trashed = false and mimeType ${folder ? '=' : '!='} ${quote(FOLDER_MIME)}`;
    const r = await this.drive.files.list({ q, fields: 'files(id,name,mimeType,description,size,md5Checksum,modifiedTime)', pageSize: 10 }, this.call);
    return r.data.files?.[0];
  }

  /** Drive name and MIME type a file gets (a converted export loses its extension). */
  private upload(file: TargetFile): { name: string; mimeType?: string } {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1);
    const original = decodeURIComponent(file.metadata['drive-mime-type'] ?? '');
    if (this.opts.convert && CONVERTIBLE.has(original)) return { name: name.replace(/\.(docx|xlsx|pptx|odt|ods|odp)$/i, ''), mimeType: original };
    return { name };
  }

  private location(file: TargetFile): { dir: string; name: string } {
    validateMemberName(file.path);
    const cut = file.path.lastIndexOf('/');
    return { dir: cut < 0 ? '' : file.path.slice(0, cut), name: this.upload(file).name };
  }

  async check(file: TargetFile): Promise<TargetState> {
    const { dir, name } = this.location(file);
    const existing = await this.find(await this.folder(dir), name, false);
    if (!existing?.id) return 'absent';
    const native = existing.mimeType?.startsWith('application/vnd.google-apps.') ?? false;
    if (existing.description?.includes(`${SHA_TAG}${file.sha256}`)) {
      // Our tag says what we uploaded; only Drive's live checksum says it is still there.
      const md5 = new RegExp(`${MD5_TAG}([0-9a-f]{32})`).exec(existing.description)?.[1];
      if (!native && md5 && existing.md5Checksum === md5) return 'identical';
      // Converted to a Google format: Drive keeps no checksum, but we set modifiedTime to the
      // original's at upload and any edit moves it. Without that evidence it is a conflict.
      if (native && file.lastModified && existing.modifiedTime && Date.parse(existing.modifiedTime) === Date.parse(file.lastModified)) return 'identical';
    }
    if (native) return 'different';
    const r = await this.drive.files.get({ fileId: existing.id, alt: 'media' }, { ...this.call, responseType: 'stream' });
    const body = r.data as unknown;
    const h = createHash('sha256');
    for await (const c of body instanceof Readable ? body : Readable.fromWeb(body as WebReadableStream)) h.update(c as Buffer);
    return h.digest('hex') === file.sha256 ? 'identical' : 'different';
  }

  async write(file: TargetFile, body: Readable | Buffer): Promise<void> {
    const { dir, name } = this.location(file);
    this.tmp ??= mkdtemp(join(tmpdir(), 'xregion-drive-'));
    const spool = join(await this.tmp, createHash('sha1').update(file.path).digest('hex'));
    try {
      const hash = createHash('sha256');
      const md5 = createHash('md5');
      await pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, new Transform({ transform: (c: Buffer, _e, cb) => (hash.update(c), md5.update(c), cb(null, c)) }), createWriteStream(spool));
      const got = hash.digest('hex');
      if (got !== file.sha256) throw new RestoreError(`${this.describe(file.path)}: sha256 ${got}, expected ${file.sha256}; not uploaded`);
      const parent = await this.folder(dir);
      const { mimeType } = this.upload(file);
      const description = `${SHA_TAG}${file.sha256} ${MD5_TAG}${md5.digest('hex')}`;
      const existing = await this.find(parent, name, false);
      const media = { mimeType: file.contentType ?? 'application/octet-stream', body: createReadStream(spool) };
      if (existing?.id) {
        // Reached only with --overwrite: a new revision of the same file.
        await this.drive.files.update({ fileId: existing.id, requestBody: { description, ...(file.lastModified && { modifiedTime: file.lastModified }) }, media, fields: 'id' }, this.call);
      } else {
        await this.drive.files.create(
          { requestBody: { name, parents: [parent], description, ...(mimeType && { mimeType }), ...(file.lastModified && { modifiedTime: file.lastModified }) }, media, fields: 'id' },
          this.call,
        );
      }
    } finally {
      await rm(spool, { force: true });
    }
  }

  async close(): Promise<void> {
    if (this.tmp) await rm(await this.tmp, { recursive: true, force: true });
  }
}
