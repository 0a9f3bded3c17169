/** Opening the current version of a key: its descriptor, identity and (checked or derived) sidecar. */
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { NoSuchBucketError, NoSuchObjectError, PreconditionFailedError, StorageError } from '../errors';
import type { ReadOptions } from '../port';
import { checkBucket } from './layout';
import { deriveSidecar, sidecarMatches, type Sidecar } from './sidecar';
import { errno, type Opened, type StoreParts } from './storeParts';

/** Fails with NoSuchBucketError unless the bucket's folder exists. */
export function requireBucket(p: StoreParts, bucket: string): void {
  checkBucket(bucket);
  if (!p.folders.exists(p.layout.bucketDir(bucket))) throw new NoSuchBucketError(bucket);
}

/** Open the current version, check versionId/ifMatch, and make sure its sidecar matches. */
export async function openVersion(p: StoreParts, bucket: string, key: string, opts: ReadOptions): Promise<Opened> {
  const dataPath = p.layout.dataPath(bucket, key);
  let fd: number;
  try {
    fd = openSync(dataPath, 'r');
  } catch (err) {
    const code = errno(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
      requireBucket(p, bucket);
      throw new NoSuchObjectError(bucket, key, { cause: err });
    }
    throw new StorageError(`s3://${bucket}/${key}: open failed: ${(err as Error).message}`, bucket, key, code === 'EMFILE', { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NoSuchObjectError(bucket, key);
    let side = p.sidecars.read(bucket, key, st);
    if (!sidecarMatches(side, st)) {
      // A file dropped in by hand (or a crash between renames): derive its facts and cache them.
      side = await deriveSidecar(fd, st, side);
      try {
        await saveDerived(p, bucket, key, side);
      } catch {
        // only a cache: the next read derives it again
      }
    }
    checkVersion(bucket, key, side, opts);
    return { fd, st, side };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * The facts of the current version without keeping a descriptor (HEAD): one stat when its
 * sidecar is cached, else as openVersion.
 */
export async function statVersion(p: StoreParts, bucket: string, key: string, opts: ReadOptions): Promise<Omit<Opened, 'fd'>> {
  let st;
  try {
    st = statSync(p.layout.dataPath(bucket, key));
  } catch {
    st = undefined; // openVersion says why
  }
  const side = st?.isFile() ? p.sidecars.read(bucket, key, st) : undefined;
  if (st && sidecarMatches(side, st)) {
    checkVersion(bucket, key, side, opts);
    return { st, side };
  }
  const o = await openVersion(p, bucket, key, opts);
  closeSync(o.fd);
  return { st: o.st, side: o.side };
}

function checkVersion(bucket: string, key: string, side: Sidecar, opts: ReadOptions): void {
  if (opts.versionId !== undefined && opts.versionId !== side.versionId) throw new NoSuchObjectError(bucket, key);
  if (opts.ifMatch !== undefined && opts.ifMatch.replace(/"/g, '') !== side.etag) throw new PreconditionFailedError(bucket, key);
}

/**
 * Renames a staged sidecar over `key`'s only while the data file is still the version it
 * describes (else discards it): a sync or a hash since it was read gave commits a chance to
 * come in between. Synchronous, as every commit's placement is, so none comes in between the
 * check and the rename (and no commit rewrites a sidecar that matches). True when placed.
 */
export function placeIfCurrent(p: StoreParts, bucket: string, key: string, side: Sidecar, staged: string): boolean {
  try {
    if (sidecarMatches(side, statSync(p.layout.dataPath(bucket, key)))) {
      ensureSidecarDir(p, bucket);
      p.sidecars.place(staged, bucket, key, side);
      return true;
    }
  } catch {
    // gone, or the rename failed: discarded below
  }
  p.sidecars.discard(staged);
  return false;
}

/**
 * Caches facts derived from a data file's bytes as its sidecar (open(), scans). Synced first when
 * fsync is on: a sidecar torn by a power loss would lose what it carried over (a copied
 * version's metadata and tags). True when placed.
 */
export async function saveDerived(p: StoreParts, bucket: string, key: string, side: Sidecar): Promise<boolean> {
  const staged = await p.sidecars.stage(side, key).catch((err: unknown) => {
    throw new StorageError(`s3://${bucket}/${key}: syncing its sidecar failed: ${(err as Error).message}`, bucket, key, false, { cause: err });
  });
  return placeIfCurrent(p, bucket, key, side, staged);
}

/** Creates the bucket's sidecar folder once (registering it for syncing when fsync is on). */
export function ensureSidecarDir(p: StoreParts, bucket: string): string {
  const dir = p.layout.sidecarDir(bucket);
  const first = p.folders.ensure(dir);
  if (first !== undefined && p.fsync) p.dirs.created(first, dir);
  return dir;
}
