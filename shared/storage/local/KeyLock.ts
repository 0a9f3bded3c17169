/**
 * Per-key mutual exclusion inside one process (commits, deletes and scans of one key queue up).
 *
 * Only inside one process, and that is enough: a store's root has one writing process, because
 * whoever writes a data dir (the appliance, `xregion ingest drive`) holds its data-dir lock.
 * Two processes committing one key at once could pair one's sidecar with the other's bytes: the
 * mismatch is detected (sidecar.ts), but that version's metadata and tags would be lost. The same
 * single owner lets sweepTempFiles take every temp file not in flight here for a dead process's.
 */
export class KeyLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Run `fn` once every earlier holder of `id` has finished. */
  async run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.tails.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    }
  }
}
