/** The local run's closing report: what went in, what came out where, and what to try next. */
import { join, relative } from 'node:path';
import type { CycleResult, LocalAppliance } from './LocalAppliance';

/** `1.2 MB`-style sizes (decimal units, as S3's console shows). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export interface ReportTotals {
  objects: number;
  objectBytes: number;
  archives: number;
  archiveBytes: number;
  skipped: number;
  catalogRows: number;
  quarantined: number;
  destinations: { bucket: string; region: string; mode: 'backup' | 'normal'; objectsWritten: number; objectsUnchanged: number; bytesWritten: number }[];
}

/** Adds up a run's results. */
export function totals(appliance: LocalAppliance, run: CycleResult): ReportTotals {
  const destinations = appliance.config.replication_configuration.flatMap((rule) =>
    rule.destinations.map((d) => ({ bucket: d.bucket, region: d.region, mode: d.backup ? ('backup' as const) : ('normal' as const), objectsWritten: 0, objectsUnchanged: 0, bytesWritten: 0 })),
  );
  for (const routed of run.routed) {
    for (const d of routed.destinations) {
      const t = destinations.find((x) => x.bucket === d.bucket);
      if (!t) continue;
      t.objectsWritten += d.objectsWritten;
      t.objectsUnchanged += d.objectsUnchanged;
      t.bytesWritten += d.bytesWritten;
    }
  }
  return {
    objects: run.archived.reduce((n, a) => n + a.objects, 0),
    objectBytes: run.archived.reduce((n, a) => n + (a.manifest?.objects.reduce((s, o) => s + o.size, 0) ?? 0), 0),
    archives: run.archived.filter((a) => a.stagingKey).length,
    archiveBytes: run.archived.reduce((n, a) => n + a.bytesOut, 0),
    skipped: run.archived.reduce((n, a) => n + a.skipped.length, 0),
    catalogRows: run.routed.reduce((n, r) => n + r.catalogRows, 0),
    quarantined: run.quarantined.length,
    destinations,
  };
}

/** The human report printed at the end of `xregion start`. */
export function formatReport(appliance: LocalAppliance, run: CycleResult, elapsedMs: number, cwd = process.cwd(), ingestLines: string[] = []): string {
  const t = totals(appliance, run);
  const rel = relative(cwd, appliance.topology.dataDir);
  const dataDir = rel.startsWith('..') ? appliance.topology.dataDir : rel || '.';
  const ratio = t.archiveBytes > 0 ? `${(t.objectBytes / t.archiveBytes).toFixed(2)}×` : 'n/a';
  const lines = [
    `xregion local pipeline: done in ${(elapsedMs / 1000).toFixed(1)} s`,
    ...ingestLines,
    `  objects in      ${t.objects} (${formatBytes(t.objectBytes)})${t.skipped ? `, ${t.skipped} skipped` : ''}`,
    `  archives        ${t.archives} (${formatBytes(t.archiveBytes)}), compression ratio ${ratio}`,
    `  destinations`,
    ...t.destinations.map((d) =>
      d.mode === 'backup'
        ? `    s3://${d.bucket} [${d.region}] backup: ${d.objectsWritten} objects archived (${formatBytes(d.bytesWritten)})${d.objectsUnchanged ? `, ${d.objectsUnchanged} already there` : ''}`
        : `    s3://${d.bucket} [${d.region}] normal: ${d.objectsWritten} objects written (${formatBytes(d.bytesWritten)}), ${d.objectsUnchanged} unchanged`,
    ),
    `  catalog rows    ${t.catalogRows}`,
    `  quarantined     ${t.quarantined}`,
    `  data            ${join(dataDir, 'regions')}/<region>/<bucket>/<key>`,
  ];
  const firstBackup = run.routed.find((r) => r.destinations.some((d) => d.mode === 'backup'));
  const normal = t.destinations.find((d) => d.mode === 'normal');
  const rule = appliance.config.replication_configuration[0];
  lines.push('', 'Try next:');
  if (normal) lines.push(`  ls ${join(dataDir, 'regions', normal.region, normal.bucket, rule.source.prefix_filter)}`);
  if (firstBackup) {
    const d = firstBackup.destinations.find((x) => x.mode === 'backup')!;
    const region = t.destinations.find((x) => x.bucket === d.bucket)!.region;
    const file = join(dataDir, 'regions', region, d.bucket, rule.source.prefix_filter, firstBackup.manifest.archive);
    lines.push(`  xregion archive list ${file}`);
    lines.push(`  zstd -dc ${file} | tar -t | head`);
    lines.push(`  xregion catalog query "SELECT object_path, object_size FROM catalog_table_name ORDER BY object_size DESC LIMIT 5"`);
    lines.push(`  xregion verify s3://${d.bucket}`);
  }
  lines.push(`  drop files into ${join(dataDir, 'regions', rule.source.region, rule.source.bucket, rule.source.prefix_filter)} and run: npm start -- --watch`);
  return lines.join('\n');
}
