/**
 * scanForNewFiles: find the versions of a bucket folder whose ObjectCreated event may never have
 * been queued (files dropped in without a put, and commits a crash or a failed send separated
 * from their notification), and announce each once it has settled (SettleTracker).
 *
 * Announcements go out in chunks: the derived sidecars of a chunk are synced together and its
 * events sent with one sendBatch per queue (one message file and one sync for up to CHUNK events;
 * notifications.ts), then each version is marked. Before, each file was hashed, synced, sent and
 * marked in turn, two syncs in a row per file: a plain `xregion start` over files already in a
 * source bucket spent most of its time waiting on them. A version is marked only once its event
 * is queued, so a crash anywhere repeats events, never loses one.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { SHA256_METADATA_KEY } from '../port';
import { markAnnounced } from './announce';
import { syncFile } from './durable';
import { EventNotQueuedError } from './errors';
import { anyRuleMatches, BatchNotifyError, notifyBatch } from './notifications';
import { placeIfCurrent, requireBucket } from './openVersion';
import { deriveSidecar, sidecarMatches, type Sidecar } from './sidecar';
import { announceId, type StoreParts } from './storeParts';
import { walkKeys } from './walk';

/** Versions announced per batch of events. */
const CHUNK = 256;

interface Candidate {
  key: string;
  side: Sidecar;
  /** A derived sidecar staged for this key, placed once synced. */
  staged?: string;
  /** Its staged sidecar could not be synced: left for the next scan. */
  dropped?: boolean;
}

/** See LocalObjectStore.scanForNewFiles. */
export async function scanBucket(p: StoreParts, bucket: string, prefix: string, settleMs: number): Promise<string[]> {
  requireBucket(p, bucket);
  const announced: string[] = [];
  const visited = new Set<string>();
  let chunk: Candidate[] = [];
  /** Derived sidecars of versions announced before (copied folders): placed, not announced. */
  let quiet: Candidate[] = [];
  for await (const { key, file } of walkKeys(p.layout.bucketDir(bucket), prefix)) {
    // No rule wants it (yet): it stays unannounced, so a rule added later still finds it.
    if (!anyRuleMatches(p.rules, bucket, key, 'ObjectCreated:Put')) continue;
    visited.add(key);
    const hit = await p.locks.run(`${bucket}/${key}`, () => inspect(p, bucket, key, file, settleMs));
    if (hit?.side.announced) quiet.push(hit);
    else if (hit) chunk.push(hit);
    if (chunk.length + quiet.length >= CHUNK) {
      await flush(p, bucket, chunk, quiet, announced);
      chunk = [];
      quiet = [];
    }
  }
  await flush(p, bucket, chunk, quiet, announced);
  p.settle.retainVisited(bucket, prefix, visited);
  return announced;
}

/** One file of the walk: a version to announce (with a staged derived sidecar), or undefined. */
async function inspect(p: StoreParts, bucket: string, key: string, file: string, settleMs: number): Promise<Candidate | undefined> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    // From the file, not the cache: another store on this root may have marked it.
    const side = st.isFile() ? p.sidecars.read(bucket, key, st, false) : undefined;
    if (!st.isFile() || (sidecarMatches(side, st) && (side.announced || p.announcing.has(announceId(bucket, key, side.versionId))))) {
      p.settle.forget(bucket, key);
      return undefined;
    }
    if (!p.settle.settled(bucket, key, st, settleMs)) return undefined;
    if (sidecarMatches(side, st)) return { key, side }; // a commit whose event may not have been queued
    const fresh = await deriveSidecar(fd, st, side);
    const after = fstatSync(fd);
    if (after.size !== st.size || after.mtimeMs !== st.mtimeMs) {
      p.settle.observe(bucket, key, after); // written to while we hashed it: not settled after all
      return undefined;
    }
    fresh.metadata = { ...fresh.metadata, [SHA256_METADATA_KEY]: fresh.sha256 };
    // A version recognised by its bytes (`fresh.announced`: a copied folder, announced before)
    // keeps its flag; flush() places its sidecar without announcing it again.
    return { key, side: fresh, staged: p.sidecars.stageUnsynced(fresh, key) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Places the chunk's derived sidecars (synced together first when fsync is on), queues the events
 * of the chunk's versions, then marks them. Throws EventNotQueuedError naming the first version
 * not known to be queued; those before it are marked.
 */
async function flush(p: StoreParts, bucket: string, chunk: Candidate[], quiet: Candidate[], announced: string[]): Promise<void> {
  const staged = [...chunk, ...quiet].filter((c) => c.staged !== undefined);
  if (p.fsync && staged.length > 0) {
    // Written synchronously above; one sync each, all in flight at once.
    const synced = await Promise.allSettled(staged.map((c) => syncFile(c.staged!)));
    synced.forEach((r, i) => {
      if (r.status === 'rejected') {
        p.sidecars.discard(staged[i]!.staged!);
        staged[i]!.staged = undefined;
        staged[i]!.dropped = true;
      }
    });
  }
  const placed = (c: Candidate): boolean => {
    if (c.dropped) return false;
    if (c.staged === undefined) return true;
    const staged = c.staged;
    c.staged = undefined;
    return placeIfCurrent(p, bucket, c.key, c.side, staged); // replaced meanwhile: the next scan looks at the new file
  };
  for (const c of quiet) placed(c);
  const ready = chunk.filter(placed);
  if (ready.length === 0) return;
  const ids = ready.map((c) => announceId(bucket, c.key, c.side.versionId));
  for (const id of ids) p.announcing.add(id);
  let queued = ready.length;
  let failure: unknown;
  try {
    await notifyBatch(
      p.rules,
      p.region,
      ready.map((c) => ({ eventName: 'ObjectCreated:Put' as const, obj: { bucket, key: c.key, size: c.side.size, etag: c.side.etag, versionId: c.side.versionId } })),
    );
  } catch (err) {
    queued = err instanceof BatchNotifyError ? err.queued : 0;
    failure = err instanceof BatchNotifyError ? err.cause : err;
  } finally {
    for (const id of ids) p.announcing.delete(id);
  }
  for (const c of ready.slice(0, queued)) {
    markAnnounced(p, bucket, c.key, c.side);
    announced.push(c.key);
  }
  if (failure !== undefined) throw new EventNotQueuedError(bucket, ready[queued]!.key, 'ObjectCreated:Put', false, { cause: failure });
}
