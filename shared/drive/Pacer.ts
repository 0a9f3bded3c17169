/**
 * A request pacer (token bucket): at most `ratePerSecond` requests on average, bursts up to
 * `burst`. One per user and one overall keep a run under Drive's per-user and per-project
 * queries-per-minute quotas instead of discovering them through 403s.
 */
import { sleep } from './backoff';

export class Pacer {
  private tokens: number;
  private last = Date.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly ratePerSecond: number, readonly burst = Math.max(1, Math.ceil(ratePerSecond / 10))) {
    this.tokens = burst;
  }

  /** Resolves when a request may go out (callers are served in order). */
  take(signal?: AbortSignal): Promise<void> {
    if (!Number.isFinite(this.ratePerSecond) || this.ratePerSecond <= 0) return Promise.resolve();
    const turn = this.queue.then(async () => {
      const now = Date.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
      this.last = now;
      if (this.tokens < 1) {
        const wait = ((1 - this.tokens) / this.ratePerSecond) * 1000;
        await sleep(wait, signal);
        this.tokens = 1;
        this.last = Date.now();
      }
      this.tokens -= 1;
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }
}
