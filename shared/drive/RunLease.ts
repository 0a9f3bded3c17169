/**
 * One Drive ingest run per source at a time. A first full run of a large domain can outlast the
 * daily schedule, and an operator can start a run by hand during a scheduled one; two runs of one
 * subject would interleave their state journals and could commit a change token past changes the
 * other has not stored yet. The lease is a small object in the target bucket, created with an S3
 * conditional write (If-None-Match: *) and renewed with If-Match on its ETag, so exactly one run
 * holds it. A run that dies leaves a lease that expires after `ttlMs` (2 min, renewed every 30 s);
 * the next run takes it over. A holder on this very host whose pid is not running (killed with
 * SIGKILL, or the machine rebooted) is taken over at once: waiting out its lease helps nobody.
 * Across hosts (ECS tasks) liveness is only the heartbeat: a pid means nothing on another machine.
 */
import { hostname } from 'node:os';
import { NoSuchObjectError, PreconditionFailedError } from '../storage/errors';
import type { ObjectStore } from '../storage/port';
import { readJsonObject, writeJsonObject } from '../storage/jsonObject';

/** Where a source's lease lives (under `_xregion/`, which the compressor never archives). */
export function runLeaseKey(sourceName: string): string {
  return `_xregion/leases/drive/${encodeURIComponent(sourceName)}.json`;
}

/** The lease's content. */
export interface LeaseDoc {
  runId: string;
  host: string;
  pid: number;
  acquiredAt: string;
  expiresAt: string;
}

/** Another run holds the source's lease: this run stops before changing anything. */
export class DriveRunLockedError extends Error {
  constructor(
    readonly source: string,
    readonly holder: LeaseDoc,
  ) {
    super(`drive source ${source}: run ${holder.runId} (${holder.host}, pid ${holder.pid}) is still running, its lease lasts until ${holder.expiresAt}; this run made no changes`);
    this.name = 'DriveRunLockedError';
  }
}

/** Default lease length: a dead ECS task holds up the next run for at most this long. */
export const DEFAULT_LEASE_TTL_MS = 120_000;

/**
 * Whether a pid runs on this host. EPERM means it exists but belongs to someone else: alive.
 * (A pid reused by an unrelated process looks alive: that run then waits out the ttl.)
 */
export function pidRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface RunLeaseOptions {
  /** How long a lease lasts without renewal (default 2 min). Renewed every quarter of it. */
  ttlMs?: number;
  now?: () => number;
  /** Called once if a renewal finds the lease taken over (the run must stop). */
  onLost?: (err: Error) => void;
}

/** A held lease: renewed in the background until released. */
export class RunLease {
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private lost = false;
  /** Set when this lease was taken over from a run that is gone: what happened, for the run record. */
  notice: string | undefined;

  private constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    readonly key: string,
    private doc: LeaseDoc,
    private etag: string,
    private readonly ttlMs: number,
    private readonly now: () => number,
    private readonly onLost: ((err: Error) => void) | undefined,
  ) {}

  /** Takes the source's lease (or an expired one); throws DriveRunLockedError while another run holds it. */
  static async acquire(store: ObjectStore, bucket: string, source: string, runId: string, opts: RunLeaseOptions = {}): Promise<RunLease> {
    const ttlMs = opts.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    const now = opts.now ?? Date.now;
    const key = runLeaseKey(source);
    const doc = (): LeaseDoc => ({ runId, host: hostname(), pid: process.pid, acquiredAt: new Date(now()).toISOString(), expiresAt: new Date(now() + ttlMs).toISOString() });
    for (let attempt = 0; attempt < 3; attempt++) {
      const mine = doc();
      try {
        const etag = await writeJsonObject(store, bucket, key, mine, { ifNoneMatch: '*' });
        return new RunLease(store, bucket, key, mine, etag, ttlMs, now, opts.onLost).start();
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
      }
      let held: { value: unknown; etag: string } | undefined;
      try {
        held = await readJsonObject(store, bucket, key);
      } catch (err) {
        if (err instanceof SyntaxError) throw new Error(`drive source ${source}: unreadable lease s3://${bucket}/${key} (remove it if no run is active)`, { cause: err });
        throw err;
      }
      if (!held) continue; // released meanwhile: try again
      const holder = held.value as LeaseDoc;
      const expired = Date.parse(holder.expiresAt) <= now();
      const deadHere = !expired && holder.host === hostname() && holder.pid !== process.pid && !pidRunning(holder.pid);
      if (!expired && !deadHere) throw new DriveRunLockedError(source, holder);
      try {
        // Its run died. Take it over, unless someone else just did.
        const etag = await writeJsonObject(store, bucket, key, mine, { ifMatch: held.etag });
        const lease = new RunLease(store, bucket, key, mine, etag, ttlMs, now, opts.onLost).start();
        lease.notice = deadHere
          ? `took over the run lease of run ${holder.runId} at once: its pid ${holder.pid} is not running on this host (the run was killed); its subjects resume`
          : `took over the expired run lease of run ${holder.runId} (${holder.host}, pid ${holder.pid}, expired ${holder.expiresAt}); its subjects resume`;
        return lease;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError || err instanceof NoSuchObjectError)) throw err;
      }
    }
    throw new Error(`drive source ${source}: could not take the run lease s3://${bucket}/${key} (it changed hands three times)`);
  }

  /** The run that holds this lease. */
  get holder(): LeaseDoc {
    return this.doc;
  }

  /** The heartbeat: a quarter of the ttl, so three renewals can fail (a transient error) before expiry. */
  get renewEveryMs(): number {
    return Math.max(1000, Math.floor(this.ttlMs / 4));
  }

  private start(): this {
    this.timer = setInterval(() => void this.renew().catch(() => undefined), this.renewEveryMs);
    this.timer.unref();
    return this;
  }

  /** Extends the lease by ttlMs; after a takeover it reports the loss (onLost) and throws. */
  async renew(): Promise<void> {
    if (this.lost) throw new Error(`run lease ${this.key} was lost`);
    this.renewing ??= (async () => {
      const next: LeaseDoc = { ...this.doc, expiresAt: new Date(this.now() + this.ttlMs).toISOString() };
      try {
        this.etag = await writeJsonObject(this.store, this.bucket, this.key, next, { ifMatch: this.etag });
        this.doc = next;
      } catch (err) {
        if (err instanceof PreconditionFailedError || err instanceof NoSuchObjectError) {
          this.lost = true;
          this.stopTimer();
          const lost = new Error(`run lease ${this.key} was taken over by another run (this run stalled past its expiry)`, { cause: err });
          this.onLost?.(lost);
          throw lost;
        }
        throw err; // a transient error: the next renewal tries again, well before expiry
      } finally {
        this.renewing = undefined;
      }
    })();
    return this.renewing;
  }

  /** Stops renewing and removes the lease if it is still ours. */
  async release(): Promise<void> {
    this.stopTimer();
    await this.renewing?.catch(() => undefined);
    if (this.lost) return;
    try {
      const info = await this.store.head(this.bucket, this.key);
      if (info.etag === this.etag) await this.store.delete(this.bucket, this.key);
    } catch (err) {
      if (!(err instanceof NoSuchObjectError)) throw err;
    }
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
