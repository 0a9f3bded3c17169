/**
 * What the soak drops into the source buckets, and its record of it. Objects are written as FILES
 * straight into the bucket folders (`<dataDir>/regions/<region>/<bucket>/<key>`), as a user
 * dropping files into a watched folder does; the appliance's scan announces them. The harness
 * never opens a LocalObjectStore on a data dir it does not own.
 *
 * - Names are hostile but legal: spaces (leading, trailing, doubled), unicode (NFC and NFD),
 *   emoji, `+`, `%`, `#`, `?`, `&`, quotes, brackets, backslashes, a tab, dot-leading segments,
 *   long segments, deep paths; never `.`/`..` segments, NUL, or past S3's 1,024 bytes.
 * - Every key holds the tag of the bucket it was written to, so no two buckets' keys collide when
 *   objects travel on to destinations (and on again, when a destination is another rule's
 *   source); and no path is ever used both as a file and as a folder (the local store cannot hold
 *   both, S3 can: README "Known limits").
 * - Contents are unique per write (a nonce up front, or random bytes), so one key never holds the
 *   same bytes twice in its history: two manifest entries with one (key, sha256) are a duplicate,
 *   never a re-write. The empty body is used once per key at most.
 * - Operations: create, overwrite (new bytes), re-copy (the same bytes as a new file), delete,
 *   move (rename to a new key), re-create after a delete, and files outside every rule. Writes are
 *   atomic (temp file + rename) or in place (truncate, then chunks: a reader can see them
 *   half-written), some with a pause longer than the settle time.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ReplicationRule } from '../../shared/config';
import type { Rng } from './rng';

/** The harness's record of one key it wrote. */
export interface KeyState {
  bucket: string;
  region: string;
  key: string;
  /** sha256 and size of the last bytes written; undefined once deleted. */
  sha256?: string;
  size?: number;
  /** The key is covered by a rule of its bucket (else it must never leave its bucket). */
  inRule: boolean;
  everEmpty: boolean;
  writes: number;
}

export interface SourceBucket {
  region: string;
  bucket: string;
  /** Short id in every key written here. */
  tag: string;
  rules: ReplicationRule[];
}

export interface OpCounts {
  creates: number;
  overwrites: number;
  recopies: number;
  deletes: number;
  moves: number;
  recreates: number;
  outside: number;
  inPlace: number;
  bytes: number;
  large: number;
}

export interface ObjectPlanOptions {
  /** Files above 8 MiB allowed per seed (they cost most of the time). */
  maxLarge: number;
  /** Largest large file (default 20 MiB). */
  maxLargeBytes?: number;
  /**
   * Also write keys whose part after the rule prefix starts with a drive letter (`Q:…`) or a
   * backslash: legal S3 keys that the archive format refuses (see the soak README section).
   */
  knownDefectNames?: boolean;
}

const MiB = 1024 * 1024;

/** Folder names: hostile but legal. None ends in ` <digits>…`, the shape of the harness's file names. */
const DIRS = [
  'a b',
  'two  spaces',
  ' leading',
  'trailing ',
  'ünïcødé',
  'Cafe\u0301 NFD',
  'Café NFC',
  '日本語のフォルダ',
  'emoji 😀🎉',
  'plus+sign',
  'a+b+c',
  'per%cent',
  '%41%2F%zz',
  'hash#tag',
  '#first',
  'q?mark',
  "it's",
  'amp&and=eq',
  'semi;colon,comma',
  '[brackets] (paren) {brace}',
  '@at $dollar !bang ~tilde',
  'back\\slash',
  'tab\there',
  '.hidden',
  '..dots',
  'dots...',
  '-dash_under',
  'UPPER lower',
  `long-${'ž'.repeat(110)}`,
  'deep',
  'er',
  'x',
];
const BASES = ['report', 'naïve résumé', 'Übersicht 100%', 'a+b=c', '#1 hit', 'what?', 'notes & drafts', '"quoted"', 'файл', '资料', 'z', ' ', 'README', '.env'];
const EXTS = ['', '.txt', '.csv', '.pdf', '.bin', '.tar.gz', '.json', '.', '.DOCX'];

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export class SourceObjects {
  readonly buckets: SourceBucket[];
  /** `${bucket}\0${key}` → state. */
  readonly keys = new Map<string, KeyState>();
  readonly counts: OpCounts = { creates: 0, overwrites: 0, recopies: 0, deletes: 0, moves: 0, recreates: 0, outside: 0, inPlace: 0, bytes: 0, large: 0 };
  private readonly everFiles = new Set<string>();
  private readonly everDirs = new Set<string>();
  private counter = 0;
  /** Last time (ms) a file was written, renamed or removed. */
  lastWriteAt = 0;

  constructor(
    rules: readonly ReplicationRule[],
    private readonly dataDir: string,
    private readonly tmpDir: string,
    private readonly rng: Rng,
    private readonly opts: ObjectPlanOptions,
  ) {
    const byBucket = new Map<string, SourceBucket>();
    for (const rule of rules) {
      let b = byBucket.get(rule.source.bucket);
      if (!b) {
        b = { region: rule.source.region, bucket: rule.source.bucket, tag: `t${byBucket.size}`, rules: [] };
        byBucket.set(rule.source.bucket, b);
      }
      b.rules.push(rule);
    }
    this.buckets = [...byBucket.values()];
    mkdirSync(tmpDir, { recursive: true });
  }

  /** The file of a key in a region's bucket folder. */
  static file(dataDir: string, region: string, bucket: string, key: string): string {
    return join(dataDir, 'regions', region, bucket, ...key.split('/'));
  }

  private path(s: { region: string; bucket: string; key: string }): string {
    return SourceObjects.file(this.dataDir, s.region, s.bucket, s.key);
  }

  /** A new key of a bucket, covered by `rule` (or by no rule of the bucket when rule is undefined); undefined when none fits. */
  private newKey(b: SourceBucket, rule: ReplicationRule | undefined): string | undefined {
    const rng = this.rng;
    for (let attempt = 0; attempt < 20; attempt++) {
      const n = ++this.counter;
      const dirs: string[] = [];
      const depth = rng.weighted({ 0: 2, 1: 3, 2: 3, 3: 2, 6: 1 } as Record<string, number>);
      for (let i = 0; i < Number(depth); i++) dirs.push(rng.pick(DIRS));
      let head = b.tag;
      if (this.opts.knownDefectNames && rng.chance(0.08)) head = rng.pick([`Q:${b.tag}`, `\\${b.tag}`, `c:${b.tag} drive`]);
      let prefix: string;
      let suffix = '';
      if (rule) {
        prefix = rule.source.prefix_filter;
        suffix = rule.source.suffix_filter;
      } else {
        // Outside every rule of the bucket: a prefix none of them has, or a suffix none accepts.
        prefix = `zz-outside ${b.tag}/`;
        suffix = '.not-replicated';
      }
      const base = `${rng.pick(BASES)} ${n}${rng.pick(EXTS)}${suffix}`;
      // The prefix may end mid-segment ("x"): the tag continues that segment.
      let key = `${prefix}${[head, ...dirs, base].join('/')}`;
      if (Buffer.byteLength(key) > 1000) key = `${prefix}${head}/${base}`;
      if (rule === undefined && b.rules.some((r) => key.startsWith(r.source.prefix_filter) && key.endsWith(r.source.suffix_filter))) return undefined;
      if (rule && b.rules.some((r) => r !== rule && key.startsWith(r.source.prefix_filter) && key.endsWith(r.source.suffix_filter))) continue;
      if (this.conflicts(b.bucket, key)) continue;
      return key;
    }
    return undefined;
  }

  /** True when the key, or a folder on its path, was ever used the other way round (file vs folder). */
  private conflicts(bucket: string, key: string): boolean {
    const id = `${bucket}\0${key}`;
    if (this.everFiles.has(id) || this.everDirs.has(id)) return true;
    const parts = key.split('/');
    for (let i = 1; i < parts.length; i++) if (this.everFiles.has(`${bucket}\0${parts.slice(0, i).join('/')}`)) return true;
    return false;
  }

  private claim(bucket: string, key: string): void {
    this.everFiles.add(`${bucket}\0${key}`);
    const parts = key.split('/');
    for (let i = 1; i < parts.length; i++) this.everDirs.add(`${bucket}\0${parts.slice(0, i).join('/')}`);
  }

  /** Bytes for a write: unique in this key's history. */
  private content(s: KeyState): Buffer {
    const rng = this.rng;
    const kind = rng.weighted({ empty: 4, tiny: 30, small: 40, medium: 22, large: 4 });
    let size: number;
    if (kind === 'empty' && !s.everEmpty) return Buffer.alloc(0);
    if (kind === 'large' && this.counts.large < this.opts.maxLarge) {
      this.counts.large++;
      size = rng.int(8 * MiB, this.opts.maxLargeBytes ?? 20 * MiB);
    } else if (kind === 'medium') size = rng.int(64 * 1024, 2 * MiB);
    else if (kind === 'small') size = rng.int(1024, 64 * 1024);
    else size = rng.int(4, 1024);
    const nonce = Buffer.from(`soak ${this.rng.seed} write ${++this.counter}\n`);
    if (size <= nonce.length || rng.chance(0.5)) return rng.bytes(size);
    // Compressible: a few words repeated.
    const words = ['ledger', 'invoice', 'quarterly', 'zeta', 'Ω', 'backup', '\n', ' ', '1234', 'lorem'];
    const unit = Buffer.from(Array.from({ length: 64 }, () => rng.pick(words)).join(' '));
    const out = Buffer.allocUnsafe(size);
    nonce.copy(out, 0);
    for (let off = nonce.length; off < size; off += unit.length) unit.copy(out, off, 0, Math.min(unit.length, size - off));
    return out;
  }

  private live(): KeyState[] {
    return [...this.keys.values()].filter((s) => s.sha256 !== undefined);
  }

  /** Applies `n` random operations; with `running`, in-place writes may pause mid-file (the appliance is watching). */
  async apply(n: number, running: boolean): Promise<void> {
    for (let i = 0; i < n; i++) await this.one(running);
  }

  private async one(running: boolean): Promise<void> {
    const rng = this.rng;
    const live = this.live();
    const dead = [...this.keys.values()].filter((s) => s.sha256 === undefined && s.inRule);
    let op = rng.weighted({ create: 62, overwrite: 17, recopy: 3, delete: 7, move: 4, recreate: 3, outside: 4 });
    if ((op === 'overwrite' || op === 'recopy' || op === 'delete' || op === 'move') && live.length === 0) op = 'create';
    if (op === 'recreate' && dead.length === 0) op = 'create';
    const b = rng.pick(this.buckets);
    switch (op) {
      case 'create':
      case 'outside': {
        const rule = op === 'outside' ? undefined : rng.pick(b.rules);
        const key = this.newKey(b, rule);
        if (!key) return;
        const s: KeyState = { bucket: b.bucket, region: b.region, key, inRule: rule !== undefined, everEmpty: false, writes: 0 };
        this.keys.set(`${b.bucket}\0${key}`, s);
        this.claim(b.bucket, key);
        this.counts[op === 'create' ? 'creates' : 'outside']++;
        await this.write(s, this.content(s), running);
        return;
      }
      case 'overwrite':
      case 'recreate': {
        const s = rng.pick(op === 'overwrite' ? live : dead);
        this.counts[op === 'overwrite' ? 'overwrites' : 'recreates']++;
        await this.write(s, this.content(s), running);
        return;
      }
      case 'recopy': {
        // The same bytes again, as a new file (a re-sync): must not be archived again.
        const s = rng.pick(live);
        const bytes = readFileSync(this.path(s));
        this.counts.recopies++;
        this.atomic(s, bytes);
        return;
      }
      case 'delete': {
        const s = rng.pick(live);
        unlinkSync(this.path(s));
        s.sha256 = undefined;
        s.size = undefined;
        this.lastWriteAt = Date.now();
        this.counts.deletes++;
        return;
      }
      case 'move': {
        const s = rng.pick(live);
        const bucket = this.buckets.find((x) => x.bucket === s.bucket)!;
        const rule = bucket.rules.find((r) => s.key.startsWith(r.source.prefix_filter) && s.key.endsWith(r.source.suffix_filter));
        const key = this.newKey(bucket, rule);
        if (!key) return;
        const t: KeyState = { bucket: s.bucket, region: s.region, key, inRule: rule !== undefined, everEmpty: s.size === 0, writes: 1, sha256: s.sha256, size: s.size };
        this.keys.set(`${s.bucket}\0${key}`, t);
        this.claim(s.bucket, key);
        const to = this.path(t);
        mkdirSync(dirname(to), { recursive: true });
        renameSync(this.path(s), to);
        s.sha256 = undefined;
        s.size = undefined;
        this.lastWriteAt = Date.now();
        this.counts.moves++;
        return;
      }
    }
  }

  private async write(s: KeyState, bytes: Buffer, running: boolean): Promise<void> {
    const rng = this.rng;
    s.writes++;
    if (bytes.length === 0) s.everEmpty = true;
    this.counts.bytes += bytes.length;
    const mode = bytes.length < 2 ? 'atomic' : rng.weighted({ atomic: 75, inPlace: 20, slow: running ? 5 : 0 });
    if (mode === 'atomic') {
      this.atomic(s, bytes);
      return;
    }
    this.counts.inPlace++;
    const file = this.path(s);
    mkdirSync(dirname(file), { recursive: true });
    s.sha256 = sha256(bytes);
    s.size = bytes.length;
    const fd = openSync(file, 'w');
    try {
      const cut = rng.int(1, bytes.length - 1);
      writeSync(fd, bytes, 0, cut, 0);
      this.lastWriteAt = Date.now();
      // A pause below the settle time (0.2 s), or, for a slow writer, above it.
      await new Promise((r) => setTimeout(r, mode === 'slow' ? rng.int(300, 700) : rng.int(0, 40)));
      writeSync(fd, bytes, cut, bytes.length - cut, cut);
    } finally {
      closeSync(fd);
    }
    this.lastWriteAt = Date.now();
  }

  private atomic(s: KeyState, bytes: Buffer): void {
    const file = this.path(s);
    mkdirSync(dirname(file), { recursive: true });
    const tmp = join(this.tmpDir, `drop-${++this.counter}`);
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
    s.sha256 = sha256(bytes);
    s.size = bytes.length;
    this.lastWriteAt = Date.now();
  }

  /** Keys written in this seed (at least once). */
  get written(): number {
    return this.keys.size;
  }

  /** Every write (creates, overwrites, re-creates, outside, re-copies). */
  get writes(): number {
    const c = this.counts;
    return c.creates + c.overwrites + c.recreates + c.outside + c.recopies;
  }
}
