/** Query results as an aligned text table, CSV (RFC 4180) or JSON (one array of row objects). */
import type { QueryResult } from './CatalogQuery';

export type ResultFormat = 'table' | 'csv' | 'json';

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return JSON.stringify(v);
  return String(v);
}

function csvCell(v: unknown): string {
  const s = cell(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Renders a result; every format ends with a newline. */
export function formatResult(r: QueryResult, format: ResultFormat): string {
  if (format === 'json') return `${JSON.stringify(r.rows, null, 2)}\n`;
  if (format === 'csv') return [r.columns.map(csvCell).join(','), ...r.rows.map((row) => r.columns.map((c) => csvCell(row[c])).join(','))].join('\r\n') + '\r\n';
  const cells = r.rows.map((row) => r.columns.map((c) => cell(row[c])));
  // A loop, not Math.max(...cells): spreading 100k+ values overflows the call stack.
  const widths = r.columns.map((c) => c.length);
  for (const row of cells) row.forEach((v, i) => (widths[i] = Math.max(widths[i]!, v.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join(' | ').trimEnd();
  const out = [line(r.columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line), `(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})`];
  return `${out.join('\n')}\n`;
}
