/**
 * An open-addressing hash table on typed arrays, keyed by a 64-bit hash of a string: the
 * in-memory half of IndexStore (Bitcask's "keydir"). A JS Map of 1M file ids held ~100 MB in
 * keys alone; here one slot is 8 bytes of key plus the caller's typed columns (21 B a slot in
 * IndexStore, ≤ 3/4 full), and nothing the garbage collector has to walk.
 *
 * Two strings with one 64-bit hash share a slot (by chance about 3e-8 across 1M keys, but the hash
 * is not cryptographic and file names are chosen by users): callers check the string they get back
 * (IndexStore re-reads the line, and keeps colliding paths apart).
 */
/**
 * A 64-bit hash of a string as two 32-bit halves (hi never 0, so 0 marks an empty slot): cyrb53's
 * two lanes, both kept. md5 through node:crypto cost 3 µs a call, a fifth of a lookup.
 */
export function hash64(s: string): [number, number] {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [(h1 | 1) >>> 0, h2 >>> 0];
}

/** A column's element type: f64 for byte offsets (they pass 2^32), u32 for lengths, u8 for flags. */
export type ColumnType = 'f64' | 'u32' | 'u8';
type Column = Float64Array | Uint32Array | Uint8Array;
const make = (t: ColumnType, n: number): Column => (t === 'f64' ? new Float64Array(n) : t === 'u32' ? new Uint32Array(n) : new Uint8Array(n));

export class KeyDir {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private cols: Column[];
  private used = 0;

  constructor(private readonly types: ColumnType[], capacity = 1024) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.cols = types.map((t) => make(t, capacity));
  }

  /** Slots in use. */
  get count(): number {
    return this.used;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.cols.reduce((n, c) => n + c.byteLength, this.hi.byteLength + this.lo.byteLength);
  }

  private find(h: number, l: number): number {
    const mask = this.hi.length - 1;
    let i = (l ^ Math.imul(h, 0x9e3779b1)) & mask;
    while (this.hi[i] !== 0 && (this.hi[i] !== h || this.lo[i] !== l)) i = (i + 1) & mask;
    return i;
  }

  /** The slot of a key, or -1. */
  slot(key: [number, number]): number {
    const i = this.find(key[0], key[1]);
    return this.hi[i] === 0 ? -1 : i;
  }

  /** The slot of a key, created (columns 0) when absent. */
  upsert(key: [number, number]): number {
    // Linear probing stays short below 3/4 full.
    if ((this.used + 1) * 4 > this.hi.length * 3) this.grow();
    const i = this.find(key[0], key[1]);
    if (this.hi[i] === 0) {
      this.hi[i] = key[0];
      this.lo[i] = key[1];
      this.used += 1;
    }
    return i;
  }

  get(slot: number, col: number): number {
    return this.cols[col][slot];
  }

  set(slot: number, col: number, v: number): void {
    this.cols[col][slot] = v;
  }

  /** The key stored in a slot (for tables whose values point at another table's keys). */
  key(slot: number): [number, number] {
    return [this.hi[slot], this.lo[slot]];
  }

  private grow(): void {
    const { hi, lo, cols } = this;
    const cap = hi.length * 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.cols = this.types.map((t) => make(t, cap));
    for (let i = 0; i < hi.length; i++) {
      if (hi[i] === 0) continue;
      const j = this.find(hi[i], lo[i]);
      this.hi[j] = hi[i];
      this.lo[j] = lo[i];
      for (let c = 0; c < cols.length; c++) this.cols[c][j] = cols[c][i];
    }
  }
}
