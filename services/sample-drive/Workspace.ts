/**
 * The sample Drive's data: users, shared drives, files (with content) and the change log.
 * Everything is in memory except uploaded bodies, which go to `dataDir` when one is given.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { EXPORT_CHOICES, EXPORT_MIME, EXPORTABLE, FOLDER_MIME } from '../../shared/drive/mimeTypes';

export interface SampleUser {
  id: string;
  primaryEmail: string;
  fullName: string;
  suspended: boolean;
  /** Archived (Google's archived-user licence): listed, not signed in, files kept. */
  archived?: boolean;
  isAdmin: boolean;
}

/** A shared-drive member's role (Drive's names). */
export type DriveRole = 'organizer' | 'fileOrganizer' | 'writer' | 'commenter' | 'reader';

export interface SharedDrive {
  id: string;
  name: string;
  members: string[];
  /** Role per member (default organizer). */
  roles?: Record<string, DriveRole>;
  createdTime: string;
}

/** Bytes of a binary file: held in memory, generated on demand (big files), or in a file. */
export type Content =
  | { kind: 'buffer'; data: Buffer }
  | { kind: 'generated'; size: number; seed: number }
  | { kind: 'file'; path: string; size: number };

export interface SampleFile {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  owners: string[];
  sharedWith: string[];
  /** Of `sharedWith`, those with the writer role (the others are readers). */
  writers?: string[];
  createdTime: string;
  modifiedTime: string;
  trashed: boolean;
  driveId?: string;
  version: number;
  headRevisionId?: string;
  md5Checksum?: string;
  size?: number;
  content?: Content;
  canDownload: boolean;
  /** Flagged as malware/abuse: alt=media needs acknowledgeAbuse=true, which only the owner may send. */
  abusive?: boolean;
  /** Export links answer 403 exportSizeLimitExceeded. */
  exportTooLarge?: boolean;
  shortcutDetails?: { targetId: string; targetMimeType: string };
  description?: string;
}

export interface ChangeEntry {
  seq: number;
  fileId: string;
  time: string;
  /** Users (and shared drive ids) who could see the file when it changed. */
  audience: string[];
}

/** Deterministic pseudo-random bytes for a generated file, chunk by chunk. */
export function* generatedChunks(size: number, seed: number, start = 0, chunk = 65536): Generator<Buffer> {
  let pos = start;
  while (pos < size) {
    const blockIndex = Math.floor(pos / chunk);
    const block = generatedBlock(seed, blockIndex, Math.min(chunk, size - blockIndex * chunk));
    const from = pos - blockIndex * chunk;
    yield block.subarray(from);
    pos = blockIndex * chunk + block.length;
  }
}

function generatedBlock(seed: number, index: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761 + index * 40503 + 1) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    if ((i & 3) === 0) {
      x ^= x << 13; x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5; x >>>= 0;
    }
    out[i] = (x >>> ((i & 3) * 8)) & 0xff;
  }
  return out;
}

export class Workspace {
  readonly users: SampleUser[] = [];
  readonly drives: SharedDrive[] = [];
  readonly files = new Map<string, SampleFile>();
  readonly changes: ChangeEntry[] = [];
  /** Per user: the id of their My Drive root folder. */
  readonly roots = new Map<string, string>();
  /** The account's domains: the primary first, then secondary domains (users.list with customer=my_customer spans them all). */
  readonly domains: string[];
  /** The Workspace account's customer id (what `my_customer` stands for). */
  readonly customerId = 'C0sample1';
  private seq = 1;
  private idCounter = 0;
  private clock: number;

  constructor(readonly domain: string, readonly dataDir?: string, startTime = Date.UTC(2025, 0, 6, 9, 0, 0)) {
    this.clock = startTime;
    this.domains = [domain];
    if (dataDir) mkdirSync(dataDir, { recursive: true });
  }

  /** Monotonic fake time so seeded workspaces are identical run after run. */
  tick(): string {
    this.clock += 61_000;
    return new Date(this.clock).toISOString();
  }

  newId(): string {
    this.idCounter += 1;
    return `f${this.idCounter.toString(36).padStart(5, '0')}${createHash('sha1').update(`${this.domain}:${this.idCounter}`).digest('hex').slice(0, 12)}`;
  }

  addUser(local: string, fullName: string, opts: { suspended?: boolean; archived?: boolean; isAdmin?: boolean; domain?: string } = {}): SampleUser {
    const domain = opts.domain ?? this.domain;
    if (!this.domains.includes(domain)) this.domains.push(domain);
    const user: SampleUser = { id: `u${this.users.length + 1}`, primaryEmail: `${local}@${domain}`, fullName, suspended: !!opts.suspended, isAdmin: !!opts.isAdmin, ...(opts.archived ? { archived: true } : {}) };
    this.users.push(user);
    this.addRoot(user.primaryEmail);
    return user;
  }

  /** Someone outside the Workspace (a partner) who owns files shared into it: a My Drive, no Directory entry. */
  addExternal(email: string): string {
    this.addRoot(email);
    return email;
  }

  private addRoot(email: string): void {
    const user = { primaryEmail: email };
    const root = this.newId();
    this.roots.set(user.primaryEmail, root);
    // The root is a folder with no parents; it is never listed by files.list.
    this.files.set(root, { id: root, name: 'My Drive', mimeType: FOLDER_MIME, parents: [], owners: [user.primaryEmail], sharedWith: [], createdTime: this.tick(), modifiedTime: this.tick(), trashed: false, version: 1, canDownload: true });
  }

  addDrive(name: string, members: string[], roles?: Record<string, DriveRole>): SharedDrive {
    const d: SharedDrive = { id: `0A${this.newId()}`, name, members, createdTime: this.tick(), ...(roles ? { roles } : {}) };
    this.drives.push(d);
    return d;
  }

  /** Creates a file or folder and logs the change. */
  create(f: Partial<SampleFile> & { name: string; mimeType: string; owner: string; parent?: string }): SampleFile {
    const now = this.tick();
    const { owner, parent, ...rest } = f;
    const file: SampleFile = {
      id: this.newId(), parents: parent ? [parent] : [this.roots.get(owner) ?? ''], owners: rest.driveId ? [] : [owner], sharedWith: [],
      createdTime: now, modifiedTime: now, trashed: false, version: 1, canDownload: true, ...rest,
    };
    // Native Docs have no headRevisionId or md5 in Drive v3; only binary content gets them.
    if (file.content) this.setContent(file, file.content);
    this.files.set(file.id, file);
    this.logChange(file);
    return file;
  }

  /** Replaces a binary file's bytes (new md5, revision, version). */
  setContent(file: SampleFile, content: Content, md5?: string): void {
    file.content = content;
    file.size = contentSize(content);
    file.md5Checksum = md5 ?? md5Of(content);
    file.headRevisionId = `r${file.version}${file.md5Checksum.slice(0, 8)}`;
  }

  /** Stores uploaded bytes (in dataDir when configured). */
  storeUpload(data: Buffer): Content {
    if (!this.dataDir) return { kind: 'buffer', data };
    const path = join(this.dataDir, randomUUID());
    writeFileSync(path, data);
    return { kind: 'file', path, size: data.length };
  }

  /** Applies a mutation to a file and logs the change. */
  update(file: SampleFile, mutate: (f: SampleFile) => void): void {
    const before = this.audience(file);
    mutate(file);
    file.version += 1;
    file.modifiedTime = this.tick();
    if (file.content && file.mimeType !== FOLDER_MIME) file.headRevisionId = `r${file.version}${file.md5Checksum?.slice(0, 8)}`;
    this.logChange(file, before);
  }

  /** Removes a file for good (changes then report `removed: true`). */
  remove(file: SampleFile): void {
    const audience = this.audience(file);
    this.files.delete(file.id);
    this.changes.push({ seq: this.seq++, fileId: file.id, time: this.tick(), audience });
  }

  logChange(file: SampleFile, extraAudience: string[] = []): void {
    this.changes.push({ seq: this.seq++, fileId: file.id, time: this.tick(), audience: [...new Set([...this.audience(file), ...extraAudience])] });
  }

  get nextSeq(): number {
    return this.seq;
  }

  audience(file: SampleFile): string[] {
    if (file.driveId) return [file.driveId, ...(this.drives.find((d) => d.id === file.driveId)?.members ?? [])];
    return [...file.owners, ...file.sharedWith];
  }

  /** Can `user` see this file (owner, shared with, or member of its shared drive)? */
  canSee(user: string, file: SampleFile): boolean {
    if (file.driveId) return this.drives.find((d) => d.id === file.driveId)?.members.includes(user) ?? false;
    return file.owners.includes(user) || file.sharedWith.includes(user);
  }

  /** May `user` change this file (owner, writer, or member of its shared drive)? */
  canWrite(user: string, file: SampleFile): boolean {
    if (file.driveId) return this.canSee(user, file);
    return file.owners.includes(user) || (file.writers?.includes(user) ?? false);
  }

  /** Drive's exportLinks for a native file, pointing back at this server. */
  exportLinks(file: SampleFile, baseUrl: string): Record<string, string> | undefined {
    const kind = EXPORTABLE[file.mimeType];
    if (!kind) return undefined;
    const links: Record<string, string> = {};
    for (const fmt of EXPORT_CHOICES[kind]) {
      const mime = EXPORT_MIME[fmt];
      links[mime] = `${baseUrl}feeds/download/export?id=${file.id}&exportFormat=${fmt}`;
    }
    return links;
  }

  /** Readable of a binary file's bytes from `start` to `end` inclusive. */
  openContent(file: SampleFile, start = 0, end?: number): Readable {
    const c = file.content;
    if (!c) return Readable.from([]);
    const size = contentSize(c);
    const last = Math.min(end ?? size - 1, size - 1);
    if (c.kind === 'buffer') return Readable.from([c.data.subarray(start, last + 1)]);
    if (c.kind === 'file') return createReadStream(c.path, { start, end: last });
    const limit = last + 1;
    return Readable.from(
      (function* () {
        let pos = start;
        for (const chunk of generatedChunks(c.size, c.seed, start)) {
          const take = chunk.subarray(0, Math.max(0, limit - pos));
          if (take.length === 0) return;
          pos += take.length;
          yield take;
        }
      })(),
    );
  }
}

export function contentSize(c: Content): number {
  return c.kind === 'buffer' ? c.data.length : c.size;
}

function md5Of(c: Content): string {
  const h = createHash('md5');
  if (c.kind === 'buffer') h.update(c.data);
  else if (c.kind === 'generated') for (const chunk of generatedChunks(c.size, c.seed)) h.update(chunk);
  else throw new Error('md5 of a stored upload is computed when it is stored');
  return h.digest('hex');
}
