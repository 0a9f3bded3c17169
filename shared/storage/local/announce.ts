/**
 * Announcing a version: queue its ObjectCreated event, then mark its sidecar announced. The event
 * goes first, so a crash in between repeats it (at least once) rather than losing it; the mark is
 * one byte written in place (sidecar.ts), not synced.
 */
import { EventNotQueuedError } from './errors';
import { notify, type LocalEventName } from './notifications';
import { placeIfCurrent } from './openVersion';
import type { Sidecar } from './sidecar';
import { announceId, type StoreParts } from './storeParts';

/** Queue the event of a version in place, then mark it; a failed send leaves it unannounced for the next scan. */
export async function announce(p: StoreParts, bucket: string, key: string, event: LocalEventName, side: Sidecar, committed: boolean): Promise<void> {
  const id = announceId(bucket, key, side.versionId);
  p.announcing.add(id);
  try {
    await notify(p.rules, p.region, event, { bucket, key, size: side.size, etag: side.etag, versionId: side.versionId });
  } catch (err) {
    throw new EventNotQueuedError(bucket, key, event, committed, { cause: err });
  } finally {
    p.announcing.delete(id);
  }
  markAnnounced(p, bucket, key, side);
}

/**
 * Marks `side` announced. In place when its sidecar is format 2 and still names it; a format-1
 * sidecar (a data dir from before the flat layout) gets a format-2 copy instead. No key lock:
 * both are synchronous, so no commit comes in between. Left unmarked (the key replaced or gone),
 * a later scan announces the version once more: at least once.
 */
export function markAnnounced(p: StoreParts, bucket: string, key: string, side: Sidecar): void {
  if (p.sidecars.markAnnounced(bucket, key, side)) return;
  try {
    placeIfCurrent(p, bucket, key, side, p.sidecars.stageUnsynced({ ...side, announced: true }, key));
  } catch {
    // unmarked: announced again by a later scan
  }
}
