/** The report of `xregion reconcile`: per (rule, destination) how many source objects are where they should be, and the first keys of every other class. */

export const RECONCILE_FORMAT = 'xregion-reconcile/1';

/**
 * What one source object (or destination object, for `extra`, or archived version, for
 * `duplicated`) turned out to be at one destination.
 * - ok: at the destination with the same content (normal: same key and sha256; backup: a
 *   catalog row and a manifest entry with that sha256, in an archive the bucket holds).
 * - missing: not there (or only half there: an archive without its catalog row, a row whose
 *   archive is gone).
 * - different: the key is there, but only with other content.
 * - extra: at the destination under the rule's prefix with no source object (normal: a stray
 *   object; backup: an object deleted at the source whose backup is kept, as designed).
 * - skipped: the pipeline deliberately did not copy it (a manifest's `skipped` list, or a key
 *   the compressor never archives: folder markers, unsafe names), with the reason.
 * - in_flight: not there yet, but still on its way (modified after --settled-before, or in an
 *   archive that reached the outbox or staging bucket after it).
 * - duplicated (backup only): one source object version stored in two or more archives.
 */
export type ObjectClass = 'ok' | 'missing' | 'different' | 'extra' | 'skipped' | 'in_flight' | 'duplicated';

/** Classes in report order. */
export const OBJECT_CLASSES: readonly ObjectClass[] = ['ok', 'missing', 'different', 'extra', 'skipped', 'in_flight', 'duplicated'];

/** Classes that make a reconcile fail (exit code 1). */
export const FAILING_CLASSES: readonly ObjectClass[] = ['missing', 'different', 'duplicated'];

export interface Sample {
  key: string;
  detail: string;
}

export interface DestinationReport {
  /** The rule's id, `{source bucket}/{prefix_filter}`. */
  rule: string;
  source: { region: string; bucket: string; prefix: string; suffix: string };
  destination: { region: string; bucket: string; mode: 'backup' | 'normal' };
  /** Source objects the rule covers (under its prefix, with its suffix, outside `_xregion/`). */
  sourceObjects: number;
  /** Per class; `duplicated` only for backup destinations. */
  counts: Record<ObjectClass, number>;
  /** The first keys (in key order) of every class but ok. */
  samples: Partial<Record<ObjectClass, Sample[]>>;
  /**
   * ok objects whose content could only be compared by size: neither side had a sha256 to compare
   * and their ETags differ (fast mode on S3 for sources not written by xregion). `--deep` hashes them.
   */
  sizeOnly: number;
  /** Backup destinations: what was read. */
  archives?: number;
  catalogRows?: number;
  /** Things that limit what this result can say (an unreadable archive, a bucket that does not exist). */
  notes: string[];
  ok: boolean;
}

export interface ReconcileReport {
  format: typeof RECONCILE_FORMAT;
  startedAt: string;
  finishedAt: string;
  /** Objects modified after this are in_flight rather than missing. */
  settledBefore: string;
  /** fast: sha256 from metadata (HEAD), else ETag, else size; deep: every source object read and hashed. */
  mode: 'fast' | 'deep';
  destinations: DestinationReport[];
  totals: Record<ObjectClass, number>;
  /** False on any missing, different or duplicated. */
  ok: boolean;
}

export function emptyCounts(): Record<ObjectClass, number> {
  return { ok: 0, missing: 0, different: 0, extra: 0, skipped: 0, in_flight: 0, duplicated: 0 };
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const padLeft = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/** The human report: one table row per (rule, destination), then the first keys of every non-ok class, then the verdict. */
export function formatReport(r: ReconcileReport): string {
  const head = ['rule', 'destination', 'mode', 'objects', ...OBJECT_CLASSES];
  const rows = r.destinations.map((d) => [
    d.rule,
    `s3://${d.destination.bucket} [${d.destination.region}]`,
    d.destination.mode,
    String(d.sourceObjects),
    ...OBJECT_CLASSES.map((c) => (c === 'duplicated' && d.destination.mode !== 'backup' ? '-' : String(d.counts[c]))),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? pad(c, widths[i]!) : padLeft(c, widths[i]!))).join('  ').trimEnd();
  const out = [`reconcile (${r.mode}, settled before ${r.settledBefore}):`, line(head), ...rows.map(line)];
  for (const d of r.destinations) {
    const shown = OBJECT_CLASSES.filter((c) => c !== 'ok' && d.counts[c] > 0);
    if (shown.length === 0 && d.notes.length === 0 && d.sizeOnly === 0) continue;
    out.push('', `${d.rule} → s3://${d.destination.bucket} [${d.destination.region}] ${d.destination.mode}:`);
    for (const c of shown) {
      const samples = d.samples[c] ?? [];
      out.push(`  ${c} (${d.counts[c]}${samples.length < d.counts[c] ? `, first ${samples.length}` : ''}):`);
      for (const s of samples) out.push(`    ${s.key}${s.detail ? ` — ${s.detail}` : ''}`);
    }
    if (d.sizeOnly > 0) out.push(`  note: ${d.sizeOnly} ok object(s) compared by size only (no sha256 on both sides, ETags differ); --deep hashes them`);
    for (const n of d.notes) out.push(`  note: ${n}`);
  }
  const t = r.totals;
  out.push(
    '',
    r.ok
      ? `OK: every settled source object is at every destination (${t.ok} ok, ${t.extra} extra, ${t.skipped} skipped, ${t.in_flight} in flight)`
      : `FAILED: ${t.missing} missing, ${t.different} different, ${t.duplicated} duplicated (${t.ok} ok, ${t.extra} extra, ${t.skipped} skipped, ${t.in_flight} in flight)`,
  );
  return `${out.join('\n')}\n`;
}
