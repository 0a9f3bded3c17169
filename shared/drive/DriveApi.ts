/**
 * The Drive v3 / Admin Directory calls the connector makes, for one subject: every call is paced
 * (per user and overall), bounded by a timeout, and retried with backoff (gaxios' own retry is
 * off so that Retry-After and jitter are ours).
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { google, type admin_directory_v1, type drive_v3 } from 'googleapis';
import { withBackoff, type BackoffOptions } from './backoff';
import type { DriveAuth } from './credentials';
import type { Pacer } from './Pacer';

/** The file fields the connector reads, and no more. */
export const FILE_FIELDS =
  'id,name,mimeType,parents,owners(emailAddress),ownedByMe,size,md5Checksum,headRevisionId,version,modifiedTime,createdTime,trashed,driveId,exportLinks,capabilities(canDownload),shortcutDetails(targetId,targetMimeType),webViewLink';

export type DriveFile = drive_v3.Schema$File;

export interface DriveApiOptions {
  rootUrl?: string;
  pacers: Pacer[];
  backoff: BackoffOptions;
  /** Timeout of metadata calls in ms (default 60 000). */
  requestTimeoutMs?: number;
  /** Timeout of one media/export response in ms (default 30 min); a longer transfer resumes. */
  downloadTimeoutMs?: number;
  /** Called once per HTTP request (benchmarks count requests per file). */
  onRequest?: (what: string) => void;
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
  newStartPageToken?: string;
}

interface CallOptions {
  timeout: number;
  retry: false;
  signal?: AbortSignal;
  fetchImplementation: typeof fetch;
}

/** gaxios hands back a web stream under Node's fetch: make it a Node Readable. */
function nodeStream(body: unknown): Readable {
  return body instanceof Readable ? body : Readable.fromWeb(body as WebReadableStream);
}

export class DriveApi {
  private readonly drive: drive_v3.Drive;
  private readonly auth: DriveAuth;

  constructor(auth: DriveAuth, private readonly opts: DriveApiOptions) {
    this.auth = auth;
    this.drive = google.drive({ version: 'v3', auth, ...(opts.rootUrl ? { rootUrl: opts.rootUrl } : {}) });
  }

  private async call<T>(what: string, fn: (o: CallOptions) => Promise<T>, timeout = this.opts.requestTimeoutMs ?? 60_000): Promise<T> {
    return withBackoff(
      what,
      async () => {
        for (const p of this.opts.pacers) await p.take(this.opts.backoff.signal);
        this.opts.onRequest?.(what);
        return fn({ timeout, retry: false, signal: this.opts.backoff.signal, fetchImplementation: globalThis.fetch });
      },
      this.opts.backoff,
    );
  }

  /** The id of the subject's My Drive root folder. */
  async rootId(): Promise<string> {
    const r = await this.call('files.get(root)', (o) => this.drive.files.get({ fileId: 'root', fields: 'id' }, o));
    return r.data.id ?? 'root';
  }

  /** The e-mail address the credentials act as (OAuth mode). */
  async whoAmI(): Promise<string> {
    const r = await this.call('about.get', (o) => this.drive.about.get({ fields: 'user(emailAddress)' }, o));
    return r.data.user?.emailAddress ?? '';
  }

  async startPageToken(driveId?: string): Promise<string> {
    const r = await this.call('changes.getStartPageToken', (o) =>
      this.drive.changes.getStartPageToken(driveId ? { driveId, supportsAllDrives: true } : { supportsAllDrives: true }, o),
    );
    if (!r.data.startPageToken) throw new Error('changes.getStartPageToken returned no token');
    return r.data.startPageToken;
  }

  /** One page of files.list (`q` as given; shared drives with `driveId`). */
  async listFiles(q: string, pageToken: string | undefined, driveId?: string): Promise<Page<DriveFile>> {
    const r = await this.call('files.list', (o) =>
      this.drive.files.list(
        {
          q, pageToken, pageSize: 1000, orderBy: 'createdTime', fields: `nextPageToken,files(${FILE_FIELDS})`,
          supportsAllDrives: true, includeItemsFromAllDrives: true, ...(driveId ? { corpora: 'drive', driveId } : { corpora: 'user' }),
        },
        o,
      ),
    );
    return { items: r.data.files ?? [], nextPageToken: r.data.nextPageToken ?? undefined };
  }

  /** One page of changes.list. */
  async listChanges(pageToken: string, driveId?: string): Promise<Page<drive_v3.Schema$Change>> {
    const r = await this.call('changes.list', (o) =>
      this.drive.changes.list(
        {
          pageToken, pageSize: 1000, includeRemoved: true, supportsAllDrives: true, includeItemsFromAllDrives: true,
          fields: `nextPageToken,newStartPageToken,changes(fileId,removed,time,file(${FILE_FIELDS}))`,
          ...(driveId ? { driveId } : { restrictToMyDrive: false }),
        },
        o,
      ),
    );
    return { items: r.data.changes ?? [], nextPageToken: r.data.nextPageToken ?? undefined, newStartPageToken: r.data.newStartPageToken ?? undefined };
  }

  async getFile(fileId: string, fields = FILE_FIELDS): Promise<DriveFile> {
    const r = await this.call('files.get', (o) => this.drive.files.get({ fileId, fields, supportsAllDrives: true }, o));
    return r.data;
  }

  /** Opens a binary file's bytes from `offset` (Range) as a stream; retried until the headers arrive. */
  async openMedia(fileId: string, offset: number, acknowledgeAbuse = false): Promise<Readable> {
    const r = await this.call(
      'files.get(media)',
      (o) => this.drive.files.get({ fileId, alt: 'media', supportsAllDrives: true, ...(acknowledgeAbuse ? { acknowledgeAbuse } : {}) }, { ...o, responseType: 'stream', headers: offset > 0 ? { Range: `bytes=${offset}-` } : {} }),
      this.opts.downloadTimeoutMs ?? 30 * 60_000,
    );
    const body = nodeStream(r.data);
    if (offset > 0 && r.status !== 206) {
      body.destroy();
      throw new Error(`files.get(media) ignored Range bytes=${offset}- (status ${r.status})`);
    }
    return body;
  }

  /** Opens an exportLinks URL as a stream (no 10 MB cap, unlike files.export). */
  async openExport(url: string): Promise<Readable> {
    const r = await this.call(
      'export',
      (o) => this.auth.request<unknown>({ url, method: 'GET', responseType: 'stream', ...o }),
      this.opts.downloadTimeoutMs ?? 30 * 60_000,
    );
    return nodeStream(r.data);
  }

  /** Every shared drive in the domain (admin) or the subject's. */
  async listSharedDrives(asAdmin: boolean): Promise<drive_v3.Schema$Drive[]> {
    const out: drive_v3.Schema$Drive[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.call('drives.list', (o) => this.drive.drives.list({ pageSize: 100, pageToken, useDomainAdminAccess: asAdmin, fields: 'nextPageToken,drives(id,name)' }, o));
      out.push(...(r.data.drives ?? []));
      pageToken = r.data.nextPageToken ?? undefined;
    } while (pageToken);
    return out;
  }

  /**
   * Every user of the Workspace account (Admin SDK Directory; the subject must be an admin):
   * `customer: my_customer` spans all the account's domains, secondary ones too; with `domain`
   * only that domain's users (Google takes one or the other).
   */
  async listUsers(domain?: string): Promise<admin_directory_v1.Schema$User[]> {
    const directory = google.admin({ version: 'directory_v1', auth: this.auth, ...(this.opts.rootUrl ? { rootUrl: this.opts.rootUrl } : {}) });
    const out: admin_directory_v1.Schema$User[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.call('users.list', (o) =>
        directory.users.list({ ...(domain ? { domain } : { customer: 'my_customer' }), maxResults: 500, pageToken, fields: 'nextPageToken,users(primaryEmail,suspended,archived)' }, o),
      );
      out.push(...(r.data.users ?? []));
      pageToken = r.data.nextPageToken ?? undefined;
    } while (pageToken);
    return out;
  }

  /** A shared drive's members (permissions.list on its id); `asAdmin` needs no membership (useDomainAdminAccess). */
  async listDriveMembers(driveId: string, asAdmin: boolean): Promise<drive_v3.Schema$Permission[]> {
    const out: drive_v3.Schema$Permission[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.call('permissions.list', (o) =>
        this.drive.permissions.list({ fileId: driveId, pageSize: 100, pageToken, supportsAllDrives: true, useDomainAdminAccess: asAdmin, fields: 'nextPageToken,permissions(type,emailAddress,role,deleted)' }, o),
      );
      out.push(...(r.data.permissions ?? []));
      pageToken = r.data.nextPageToken ?? undefined;
    } while (pageToken);
    return out;
  }
}
