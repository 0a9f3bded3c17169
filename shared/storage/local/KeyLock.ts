/** Per-key mutual exclusion inside one process (commits, deletes and scans of one key queue up). */
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
