/**
 * Committing a written temp file as the new version of a key. Order, for crash and power-loss
 * safety: data and sidecar temp files synced; sidecar renamed, then data (a crash between leaves
 * the old bytes with a sidecar that does not match them, so it is ignored); their folders synced
 * (group commits shared by every put of a tick: durable.ts); only then the put returns and the
 * event is sent, so no event names an object a power loss could undo.
 *
 * File-system calls of one put of a new key, fsync on: the temp file's open, write, fstat,
 * fdatasync, close and rename; the sidecar's open, write, fdatasync, close and rename; a share of
 * two folder fsyncs; and, with a rule to notify, the queue's send and the mark's open, read, write
 * and close. (Before: the temp file and each of two staged sidecars were opened a second time to
 * be synced, the key's folder was created twice, in the bucket and in a `.meta` tree, with twice
 * the folder syncs, and the mark was a synced rename.)
 */
import { closeSync, fstatSync, rmSync, renameSync } from 'node:fs';
import * as path from 'node:path';
import { InvalidKeyError, NoSuchObjectError, PreconditionFailedError, StorageError } from '../errors';
import type { PutResult } from '../port';
import { announce } from './announce';
import { syncFd } from './durable';
import { anyRuleMatches, type LocalEventName } from './notifications';
import { ensureSidecarDir, openVersion } from './openVersion';
import type { Sidecar } from './sidecar';
import { errno, type StoreParts } from './storeParts';

/** A temp file holding a new version's bytes, written and still open. */
export interface WrittenTemp {
  path: string;
  fd: number;
}

/** What a commit sets; size and file identity come from the temp file. */
export type NewVersion = Omit<Sidecar, 'ino' | 'mtimeMs' | 'size' | 'announced'>;

export interface Condition {
  ifNoneMatch?: '*';
  ifMatch?: string;
}

/**
 * Moves `tmp` into place as `key` with its sidecar, then (when a rule wants it) queues its event
 * and marks it announced. Every version goes in unannounced: with a rule to notify it is marked
 * once its event is queued (a crash in between leaves it for scanForNewFiles); without one it
 * stays unmarked, so that a rule added later (or a store opened with its rules) still announces it.
 */
export async function commitVersion(p: StoreParts, bucket: string, key: string, tmp: WrittenTemp, partial: NewVersion, event: LocalEventName, condition?: Condition): Promise<PutResult> {
  const dataPath = p.layout.dataPath(bucket, key);
  const notified = anyRuleMatches(p.rules, bucket, key, event);
  let fdOpen = true;
  const closeTmp = (): void => {
    if (fdOpen) closeSync(tmp.fd);
    fdOpen = false;
  };
  let staged: string | undefined;
  const fail = (err: unknown): never => {
    closeTmp();
    rmSync(tmp.path, { force: true });
    if (staged) p.sidecars.discard(staged);
    if (err instanceof StorageError) throw err;
    const code = errno(err);
    if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
      throw new InvalidKeyError(bucket, key, 'conflicts with an existing key (a file cannot also be a folder)');
    }
    throw new StorageError(`s3://${bucket}/${key}: commit failed: ${(err as Error).message}`, bucket, key, false, { cause: err });
  };
  try {
    const side = await p.locks.run(`${bucket}/${key}`, async () => {
      // Checked under the key's lock, so no other commit of this key comes in between; and first,
      // so a refused write costs no sync.
      if (condition) await checkCondition(p, bucket, key, condition).catch(fail);
      let side: Sidecar;
      try {
        const st = fstatSync(tmp.fd);
        side = { ...partial, size: st.size, ino: st.ino, mtimeMs: st.mtimeMs, announced: false };
        const stage = p.sidecars.stage(side, key).then((f) => (staged = f));
        // allSettled: a failed sync must not leave the other half still running when fail() cleans up.
        const done = await Promise.allSettled([p.fsync ? syncFd(tmp.fd) : undefined, stage]);
        for (const r of done) if (r.status === 'rejected') throw r.reason;
        closeTmp();
      } catch (err) {
        return fail(err);
      }
      const ensure = (dir: string): void => {
        const first = p.folders.ensure(dir);
        // Registered at once, so a put of another key into this new folder waits for it too.
        if (first !== undefined && p.fsync) p.dirs.created(first, dir);
      };
      const place = (): void => {
        ensure(path.dirname(dataPath));
        ensureSidecarDir(p, bucket);
        // Sidecar first: if we crash before the data rename, the old bytes stay visible and the
        // new sidecar does not match them, so it is ignored.
        if (staged) {
          p.sidecars.place(staged, bucket, key, side);
          staged = undefined;
        }
        renameSync(tmp.path, dataPath);
      };
      try {
        try {
          place();
        } catch (err) {
          if (errno(err) !== 'ENOENT') throw err;
          p.folders.forget(); // a folder removed behind our back: create it again, once
          place();
        }
      } catch (err) {
        return fail(err);
      }
      return side;
    });
    if (p.fsync) {
      try {
        const data = path.dirname(dataPath);
        const meta = p.layout.sidecarDir(bucket);
        await Promise.all([p.dirs.sync(data), p.dirs.sync(meta), p.dirs.folderDurable(data), p.dirs.folderDurable(meta)]);
      } catch (err) {
        // In place but maybe not on disk: the caller retries (a new version), as after any failed put.
        throw new StorageError(`s3://${bucket}/${key}: commit failed: syncing its folders: ${(err as Error).message}`, bucket, key, false, { cause: err });
      }
    }
    if (notified) await announce(p, bucket, key, event, side, true);
    return { etag: side.etag, versionId: side.versionId, sha256: side.sha256, size: side.size };
  } finally {
    // Renamed into place or removed by now.
    p.inFlight.delete(tmp.path);
    if (fdOpen) closeSync(tmp.fd);
  }
}

/** S3 conditional-write semantics; throws PreconditionFailedError when unmet (the caller removes the temp files). */
async function checkCondition(p: StoreParts, bucket: string, key: string, condition: Condition): Promise<void> {
  let current: string | undefined;
  try {
    const o = await openVersion(p, bucket, key, {});
    closeSync(o.fd);
    current = o.side.etag;
  } catch (err) {
    if (!(err instanceof NoSuchObjectError)) throw err;
  }
  const unmet = (condition.ifNoneMatch === '*' && current !== undefined) || (condition.ifMatch !== undefined && current !== condition.ifMatch.replace(/"/g, ''));
  if (unmet) throw new PreconditionFailedError(bucket, key);
}
