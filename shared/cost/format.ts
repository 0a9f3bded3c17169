/** Text rendering of a cost estimate: one table per region (line items, xregion beside native CRR), totals, break-even. */
import type { Estimate } from './estimate';

const usd = (n: number): string => (Math.abs(n) >= 100 ? `$${n.toFixed(0)}` : Math.abs(n) >= 1 ? `$${n.toFixed(2)}` : n === 0 ? '–' : `$${n.toFixed(4)}`);

/** Renders the estimate as aligned text tables. */
export function formatEstimate(e: Estimate): string {
  const w = e.workload;
  const out: string[] = [];
  out.push(
    `xregion cost: ${w.tbPerMonth} TB/month in ${w.filesPerMonth.toLocaleString('en-US')} files, compression ${w.compressionRatio}×, restores ${w.restoreTbPerMonth} TB/month, retention ${w.retentionDays} days, Spot ${w.spot ? 'on' : 'off'}`,
  );
  out.push(`prices: us-east-1 list prices of ${e.pricesDate} (override with --prices), USD per month`);
  const width = Math.max(40, ...e.lines.map((l) => l.item.length));
  for (const r of e.regions) {
    out.push('', `${r.region}`);
    out.push(`  ${'line item'.padEnd(width)}  ${'xregion'.padStart(10)}  ${'native CRR'.padStart(10)}`);
    for (const l of e.lines.filter((x) => x.region === r.region).sort((a, b) => b.xregion + b.native - (a.xregion + a.native))) {
      out.push(`  ${l.item.padEnd(width)}  ${usd(l.xregion).padStart(10)}  ${usd(l.native).padStart(10)}`);
    }
    out.push(`  ${'region total'.padEnd(width)}  ${usd(r.xregion).padStart(10)}  ${usd(r.native).padStart(10)}`);
  }
  out.push('', `  ${'TOTAL per month'.padEnd(width)}  ${usd(e.total.xregion).padStart(10)}  ${usd(e.total.native).padStart(10)}`);
  const diff = e.total.native - e.total.xregion;
  out.push(diff >= 0 ? `xregion saves ${usd(diff)} per month (${((diff / (e.total.native || 1)) * 100).toFixed(0)}%) against native CRR.` : `xregion costs ${usd(-diff)} per month more than native CRR.`);
  out.push(
    e.breakEvenTbPerMonth === null
      ? 'break-even: none — at this compression ratio native CRR costs less per TB.'
      : e.breakEvenTbPerMonth === 0
        ? 'break-even: xregion costs less at any volume with this file size and ratio.'
        : `break-even: ${e.breakEvenTbPerMonth.toFixed(2)} TB/month (same average file size); above it xregion costs less.`,
  );
  return out.join('\n');
}
