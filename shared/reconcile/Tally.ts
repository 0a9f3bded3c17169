/** Counts per class of one (rule, destination), and the first keys of each non-ok class in key order (bounded, whatever the run's size). */
import { compareKeys } from './ListingCursor';
import { emptyCounts, OBJECT_CLASSES, type ObjectClass, type Sample } from './report';

const byKey = (a: Sample, b: Sample) => compareKeys(a.key, b.key) || (a.detail < b.detail ? -1 : a.detail > b.detail ? 1 : 0);

export class Tally {
  readonly counts = emptyCounts();
  /** ok objects compared by size only. */
  sizeOnly = 0;
  private readonly samples = new Map<ObjectClass, Sample[]>();

  constructor(private readonly limit: number) {}

  add(c: ObjectClass, key: string, detail = ''): void {
    this.counts[c]++;
    if (c === 'ok' || this.limit <= 0) return;
    let list = this.samples.get(c);
    if (!list) this.samples.set(c, (list = []));
    list.push({ key, detail });
    // Checks finish out of order: keep the smallest keys, trimming now and then.
    if (list.length > 4 * this.limit) {
      list.sort(byKey);
      list.length = this.limit;
    }
  }

  /** The first `limit` keys of every non-ok class that has any. */
  result(): Partial<Record<ObjectClass, Sample[]>> {
    const out: Partial<Record<ObjectClass, Sample[]>> = {};
    for (const c of OBJECT_CLASSES) {
      const list = this.samples.get(c);
      if (list?.length) out[c] = list.sort(byKey).slice(0, this.limit);
    }
    return out;
  }
}
