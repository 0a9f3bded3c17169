/**
 * A listing walked in step with another: every ObjectStore lists in UTF-8 byte order of the key
 * (port.ts), so the source and a destination can be merge-joined without holding either listing.
 */
import type { ObjectSummary } from '../storage';

/** S3's key order: UTF-8 bytes (JS string comparison is UTF-16 code units, which differs above U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Peekable iterator over a listing that refuses to go on when the store breaks its order (a merge-join would report nonsense). */
export class ListingCursor {
  private readonly it: AsyncIterator<ObjectSummary>;
  private head: ObjectSummary | undefined;
  private loaded = false;
  private done = false;
  private last: string | undefined;

  constructor(
    listing: AsyncIterable<ObjectSummary>,
    /** Named in the error when the order breaks. */
    readonly label: string,
  ) {
    this.it = listing[Symbol.asyncIterator]();
  }

  /** The next object without taking it; undefined at the end. */
  async peek(): Promise<ObjectSummary | undefined> {
    if (!this.loaded && !this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        this.head = undefined;
      } else {
        if (this.last !== undefined && compareKeys(r.value.key, this.last) <= 0) {
          throw new Error(`${this.label}: the listing is not in key order (${JSON.stringify(r.value.key)} after ${JSON.stringify(this.last)})`);
        }
        this.last = r.value.key;
        this.head = r.value;
      }
      this.loaded = true;
    }
    return this.head;
  }

  /** Takes the next object; undefined at the end. */
  async take(): Promise<ObjectSummary | undefined> {
    const v = await this.peek();
    this.loaded = false;
    this.head = undefined;
    return v;
  }

  /** Takes every object before `key` (calling `each`), then the one at `key` if there is one. */
  async advanceTo(key: string, each: (o: ObjectSummary) => void): Promise<ObjectSummary | undefined> {
    for (;;) {
      const next = await this.peek();
      if (!next) return undefined;
      const c = compareKeys(next.key, key);
      if (c > 0) return undefined;
      await this.take();
      if (c === 0) return next;
      each(next);
    }
  }

  /** Releases the underlying listing early. */
  async close(): Promise<void> {
    if (!this.done) await this.it.return?.();
    this.done = true;
  }
}
