/**
 * Restores of small files started while an archive stream moves on, bounded in number and in
 * buffered bytes. p-limit bounds concurrency but queues without limit; here the producer (the
 * archive stream) waits whenever the bound is reached, so memory stays bounded too.
 */
export class ConcurrentWrites {
  private readonly inflight = new Set<Promise<void>>();
  private bytes = 0;

  constructor(
    private readonly maxFiles: number,
    private readonly maxBytes: number,
  ) {}

  /** Starts `task`, which holds `size` bytes until it settles; resolves once there is room for another. */
  async add(size: number, task: () => Promise<void>): Promise<void> {
    this.bytes += size;
    const running: Promise<void> = task()
      .catch(() => undefined) // tasks report their own failures; one must not stop the others
      .finally(() => {
        this.inflight.delete(running);
        this.bytes -= size;
      });
    this.inflight.add(running);
    while (this.inflight.size >= this.maxFiles || (this.bytes > this.maxBytes && this.inflight.size > 0)) await Promise.race(this.inflight);
  }

  /** Waits for every task started. */
  async settle(): Promise<void> {
    await Promise.all(this.inflight);
  }
}
