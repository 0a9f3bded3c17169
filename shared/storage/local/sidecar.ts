/**
 * The JSON sidecar that holds what a filesystem cannot: ETag, sha256, versionId, content type,
 * storage class, metadata and tags. It names the inode, size and mtime of the data file it
 * describes; a sidecar that does not match its data file (a crash between the two renames, or a
 * file replaced by hand) is ignored and the info is derived from the bytes again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import * as path from 'node:path';

export interface Sidecar {
  v: 1;
  etag: string;
  sha256: string;
  size: number;
  versionId: string;
  lastModified: string;
  contentType?: string;
  storageClass: string;
  metadata: Record<string, string>;
  tags: Record<string, string>;
  /** Identity of the data file this describes. */
  ino: number;
  mtimeMs: number;
  /** An ObjectCreated event was emitted for this version (scanForNewFiles skips it). */
  announced: boolean;
}

/** A new opaque version id: time-ordered, unique. */
export function newVersionId(): string {
  return `${Date.now().toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}

/** True when the sidecar describes exactly this data file. */
export function sidecarMatches(s: Sidecar | undefined, st: Stats): s is Sidecar {
  return s !== undefined && s.ino === st.ino && s.size === st.size && s.mtimeMs === st.mtimeMs;
}

/** Read a sidecar; undefined when absent or unreadable (it is only a cache of facts). */
export async function readSidecar(file: string): Promise<Sidecar | undefined> {
  try {
    const json = JSON.parse(await fs.readFile(file, 'utf8')) as Sidecar;
    return json.v === 1 ? json : undefined;
  } catch {
    return undefined;
  }
}

/** Atomically write a sidecar (temp file in `tmpDir`, then rename). */
export async function writeSidecar(
  file: string,
  s: Sidecar,
  tmpDir: string,
  ensureDir: (dir: string) => Promise<unknown> = (dir) => fs.mkdir(dir, { recursive: true }),
): Promise<void> {
  const tmp = path.join(tmpDir, `meta-${randomBytes(12).toString('hex')}`);
  await fs.writeFile(tmp, JSON.stringify(s));
  try {
    await ensureDir(path.dirname(file));
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** md5 and sha256 of an open file's bytes, read in bounded chunks. */
export async function hashFile(fh: fs.FileHandle, size: number): Promise<{ md5: string; sha256: string }> {
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  for (let pos = 0; pos < size; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead === 0) break;
    md5.update(buf.subarray(0, bytesRead));
    sha.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return { md5: md5.digest('hex'), sha256: sha.digest('hex') };
}

/** Sidecar facts for a file that has none (dropped into the bucket folder by hand). */
export async function deriveSidecar(fh: fs.FileHandle, st: Stats): Promise<Sidecar> {
  const { md5, sha256 } = await hashFile(fh, st.size);
  return {
    v: 1,
    etag: md5,
    sha256,
    size: st.size,
    versionId: newVersionId(),
    lastModified: st.mtime.toISOString(),
    storageClass: 'STANDARD',
    metadata: {},
    tags: {},
    ino: st.ino,
    mtimeMs: st.mtimeMs,
    announced: false,
  };
}
