/**
 * The sidecar: what a filesystem cannot hold about an object (ETag, sha256, versionId, content
 * type, storage class, metadata, tags), and whether its ObjectCreated event is known to be queued.
 * It names the inode, size and mtime of the data file it describes; a sidecar that does not match
 * its data file (a crash between the two renames of a commit, or a file replaced by hand) is
 * ignored and the facts are derived from the bytes again. SidecarFiles.ts says where they live.
 *
 * On disk (format 2): one flag byte (`A` announced, `-` not), the versionId, a newline, then the
 * JSON. The flag comes first so that marking a version announced is one 1-byte write in place
 * (no staged copy, no rename, no sync: a mark a power loss undoes only repeats an event, which
 * at-least-once allows). Format 1 (the sidecars of earlier versions, under `.meta/`) is the JSON
 * alone, `announced` inside it; it is still read.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { PROCESS_TAG } from './layout';
import { readFully } from './readFully';

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
  /**
   * The ObjectCreated event of this version is known to be queued (scanForNewFiles skips it).
   * False until the send has returned, so a crash in between leaves it to the next scan.
   */
  announced: boolean;
}

/** Flag bytes of format 2. */
export const ANNOUNCED = 0x41; // 'A'
export const UNANNOUNCED = 0x2d; // '-'

let versionCounter = 0;

/**
 * A new opaque version id: time-ordered, unique (25 characters, as before). A per-process tag and
 * a counter instead of 8 random bytes a call: per-object CSPRNG calls were part of the 4.6% that
 * ids and AbortControllers took in the pipeline's CPU profile.
 */
export function newVersionId(): string {
  versionCounter = (versionCounter + 1) % 0x10000;
  return `${Date.now().toString(36).padStart(9, '0')}${PROCESS_TAG}${versionCounter.toString(16).padStart(4, '0')}`;
}

/** True when the sidecar describes exactly this data file. */
export function sidecarMatches(s: Sidecar | undefined, st: Stats): s is Sidecar {
  return s !== undefined && s.ino === st.ino && s.size === st.size && s.mtimeMs === st.mtimeMs;
}

/** Format 2 bytes of a sidecar (`key` guards against two keys hashing to one file name). */
export function encodeSidecar(s: Sidecar, key: string): Buffer {
  const { announced, ...rest } = s;
  return Buffer.from(`${announced ? 'A' : '-'}${s.versionId}\n${JSON.stringify({ ...rest, key })}`);
}

/**
 * Parses a sidecar file of either format; undefined when torn, unreadable or another key's (it is
 * only a cache of facts: the caller derives them again). Format 1 carries no key: its path is it.
 */
export function decodeSidecar(buf: Buffer, key: string): Sidecar | undefined {
  try {
    if (buf[0] === 0x7b /* '{' */) {
      const json = JSON.parse(buf.toString('utf8')) as Sidecar;
      return json.v === 1 ? json : undefined;
    }
    const flag = buf[0];
    if (flag !== ANNOUNCED && flag !== UNANNOUNCED) return undefined;
    const nl = buf.indexOf(0x0a);
    if (nl < 0) return undefined;
    const { key: owner, ...json } = JSON.parse(buf.subarray(nl + 1).toString('utf8')) as Omit<Sidecar, 'announced'> & { key?: string };
    if (json.v !== 1 || owner !== key || json.versionId !== buf.subarray(1, nl).toString('utf8')) return undefined;
    return { ...json, announced: flag === ANNOUNCED };
  } catch {
    return undefined;
  }
}

/** md5 and sha256 of an open file's bytes, read in bounded chunks (readFully: large chunks off the event loop). */
export async function hashFile(fd: number, size: number): Promise<{ md5: string; sha256: string }> {
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(size, 1024 * 1024)));
  for (let pos = 0; pos < size; ) {
    const bytesRead = await readFully(fd, buf.subarray(0, Math.min(buf.length, size - pos)), pos);
    if (bytesRead === 0) break;
    md5.update(buf.subarray(0, bytesRead));
    sha.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return { md5: md5.digest('hex'), sha256: sha.digest('hex') };
}

/**
 * Sidecar facts for a data file its sidecar does not describe: a file dropped into the bucket
 * folder by hand, a crash between the two renames of a commit, or a data folder copied or
 * restored from a file backup (new inodes). When the bytes hash to what the old sidecar recorded,
 * they are that version: it keeps its version id, ETag, metadata and tags (so queued events that
 * name it still find it), with the new file identity.
 */
export async function deriveSidecar(fd: number, st: Stats, previous?: Sidecar): Promise<Sidecar> {
  const { md5, sha256 } = await hashFile(fd, st.size);
  if (previous && previous.sha256 === sha256 && previous.etag === md5 && previous.size === st.size) return { ...previous, ino: st.ino, mtimeMs: st.mtimeMs };
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
