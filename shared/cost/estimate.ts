/**
 * The monthly cost model of `xregion cost`: a validated config and a workload in, line items per
 * region out, each beside what native S3 Cross-Region Replication of the uncompressed objects (one
 * replication rule per destination bucket, with replication metrics for the same failure alarm)
 * would cost for the same line. Storage is the steady state: a month's data stays stored for the
 * retention (Object Lock days, else `retentionDays`, at least the class minimum). The workload is
 * spread evenly over the rules. Linear in volume (up to the rounding of multipart parts and LIST
 * pages), so the break-even volume is exact for the model to within a cent.
 */
import type { Config, Destination, ReplicationRule, StorageClass } from '../config';
import { WorkloadError } from './errors';
import * as P from './pattern';
import { DAYS_PER_MONTH, DEFAULT_PRICES, GB, HOURS_PER_MONTH, TB, type PriceTable } from './prices';

export interface Workload {
  /** Uncompressed bytes arriving per month, in TB (2^40 bytes). */
  readonly tbPerMonth: number;
  readonly filesPerMonth: number;
  /** @default MEASURED_COMPRESSION_RATIO */
  readonly compressionRatio?: number;
  /** Uncompressed TB restored per month from backup destinations (to a machine outside AWS). @default 0 */
  readonly restoreTbPerMonth?: number;
  /** How long a month's data stays stored where no Object Lock keeps it longer. @default 365 */
  readonly retentionDays?: number;
  /** Athena queries of the guide's kind (no partition filter: the whole catalog) per month and backup region. @default 30 */
  readonly athenaQueriesPerMonth?: number;
  /** Fargate Spot as the stacks deploy it (4 of 5 tasks). @default true */
  readonly spot?: boolean;
}

/** One line: what xregion and native CRR cost for one item in one region, per month (USD). */
export interface LineItem {
  readonly region: string;
  readonly item: string;
  xregion: number;
  native: number;
}

export interface Estimate {
  readonly pricesDate: string;
  readonly workload: Required<Workload>;
  readonly lines: LineItem[];
  readonly regions: { region: string; xregion: number; native: number }[];
  readonly total: { xregion: number; native: number };
  /** Monthly TB (same average file size) at which both cost the same; null when xregion never gets cheaper. */
  readonly breakEvenTbPerMonth: number | null;
}

const per1000 = (n: number, price: number) => (n / 1000) * price;

/** Checks a workload and fills its defaults. */
export function normalizeWorkload(w: Workload): Required<Workload> {
  const full = {
    compressionRatio: P.MEASURED_COMPRESSION_RATIO,
    restoreTbPerMonth: 0,
    retentionDays: 365,
    athenaQueriesPerMonth: 30,
    spot: true,
    ...Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)),
  } as Required<Workload>;
  const problems: string[] = [];
  for (const k of ['tbPerMonth', 'filesPerMonth', 'restoreTbPerMonth', 'retentionDays', 'athenaQueriesPerMonth'] as const) {
    if (!Number.isFinite(full[k]) || full[k] < 0) problems.push(`${k} must be a number ≥ 0 (got ${full[k]})`);
  }
  if (!Number.isFinite(full.compressionRatio) || full.compressionRatio < 1) problems.push(`compressionRatio must be ≥ 1 (got ${full.compressionRatio})`);
  if (full.tbPerMonth > 0 && full.filesPerMonth < 1) problems.push('filesPerMonth must be ≥ 1 when tbPerMonth > 0');
  if (problems.length > 0) throw new WorkloadError(problems.join('; '));
  return full;
}

/** Days a month's data is billed at a destination: Object Lock, else the retention, at least the class minimum. */
export function retentionDaysOf(d: Destination, w: Required<Workload>, prices: PriceTable): number {
  return Math.max(d.object_lock?.days ?? 0, w.retentionDays, prices.s3.classes[d.storage_class].minimumDays);
}

/** Steady-state monthly storage of `bytes` per month in `objects` objects kept `days` in a class (with its minimum object size). */
export function storageCost(bytes: number, objects: number, days: number, cls: StorageClass, prices: PriceTable): number {
  const c = prices.s3.classes[cls];
  const billed = Math.max(bytes, objects * c.minimumObjectBytes);
  const monitoring = cls === 'INTELLIGENT_TIERING' ? per1000(objects, prices.s3.intelligentTieringMonitoringPer1000) : 0;
  return (days / DAYS_PER_MONTH) * ((billed / GB) * c.storageGbMonth + monitoring);
}

/** Fargate USD per task-hour of a size, blended over Spot and on-demand as the stacks run them, plus its public IPv4. */
export function taskHourPrice(cpu: number, memory: number, spot: boolean, prices: PriceTable): number {
  const f = prices.fargate;
  const od = (cpu / 1024) * f.vcpuHour + (memory / 1024) * f.gbHour;
  const sp = (cpu / 1024) * f.spotVcpuHour + (memory / 1024) * f.spotGbHour;
  return (spot ? P.SPOT_SHARE * sp + (1 - P.SPOT_SHARE) * od : od) + f.publicIpv4Hour;
}

/** Task-seconds the measured pipeline needs for `objects` objects of `bytes` in all. */
export function taskSeconds(objects: number, bytes: number): number {
  return objects * P.TASK_SECONDS_PER_OBJECT + (bytes / 1e6) * P.TASK_SECONDS_PER_MB;
}

/** Archives a rule's share closes per month: at max_objects or max_bytes, whichever comes first (events in bursts). */
export function archivesOf(rule: ReplicationRule, objects: number, bytes: number): number {
  return Math.max(objects / rule.source.batch.max_objects, bytes / rule.source.batch.max_bytes);
}

class Lines {
  private readonly byKey = new Map<string, LineItem>();
  add(region: string, item: string, xregion: number, native = 0): void {
    const key = `${region}\u0000${item}`;
    const line = this.byKey.get(key) ?? { region, item, xregion: 0, native: 0 };
    line.xregion += xregion;
    line.native += native;
    this.byKey.set(key, line);
  }
  list(): LineItem[] {
    return [...this.byKey.values()];
  }
}

/** The line items of one workload (no break-even). */
export function lineItems(config: Config, workload: Workload, prices: PriceTable = DEFAULT_PRICES): LineItem[] {
  const w = normalizeWorkload(workload);
  const lines = new Lines();
  const rules = config.replication_configuration;
  const U = (w.tbPerMonth * TB) / rules.length;
  const N = w.filesPerMonth / rules.length;
  const C = U / w.compressionRatio;
  const cls = prices.s3.classes;
  const std = cls.STANDARD;
  const kms = (n: number) => (n / 10000) * prices.kms.per10000;
  const sqs = (n: number) => (n / 1e6) * prices.sqsPerMillion;
  const logs = (bytes: number) => (bytes / GB) * (prices.cloudwatch.logsIngestGb + prices.cloudwatch.logsStorageGbMonth);
  const metrics = (n: number) => n * prices.cloudwatch.metricMonth;
  const alarms = (n: number) => n * prices.cloudwatch.alarmMonth;

  for (const rule of rules) {
    const s = rule.source;
    const S = s.region;
    const A = archivesOf(rule, N, U);
    const archiveBytes = A > 0 ? C / A : 0;
    const parts = Math.max(1, Math.ceil(archiveBytes / P.UPLOAD_PART_BYTES));
    const targets = [...new Set(rule.destinations.map((d) => d.region))];

    // Source region: the compressor and its outbox.
    lines.add(S, 'S3 requests: compressor reads of source objects', per1000(N * P.COMPRESSOR_SOURCE_GETS_PER_OBJECT, std.getPer1000));
    lines.add(S, 'S3 requests: outbox (intent, multipart upload, read-back, record)', per1000(A * (P.COMPRESSOR_OUTBOX_PUTS_PER_ARCHIVE + parts), std.putPer1000) + per1000(A * P.COMPRESSOR_OUTBOX_GETS_PER_ARCHIVE, std.getPer1000));
    const inOutbox = (A * P.OUTBOX_CHECKED_DAYS) / DAYS_PER_MONTH;
    lines.add(S, 'S3 requests: outbox-age check (hourly LIST + HEAD)', P.OUTBOX_CHECK_RUNS_PER_MONTH * (per1000(inOutbox, std.getPer1000) + per1000(Math.max(1, Math.ceil(inOutbox / 1000)), std.putPer1000)));
    lines.add(S, 'S3 storage: outbox (STANDARD, 14 days + 7 noncurrent)', storageCost(C, A, P.OUTBOX_DAYS, 'STANDARD', prices));
    const compressorSeconds = taskSeconds(N, U);
    const compressorHours = Math.max(compressorSeconds / 3600, s.scaling.min_tasks * HOURS_PER_MONTH);
    lines.add(S, 'Fargate: compressor', compressorHours * taskHourPrice(s.scaling.cpu, s.scaling.memory, w.spot, prices));
    lines.add(S, 'SQS: compressor queue', sqs(N * P.SQS_PER_OBJECT + compressorHours * P.SQS_IDLE_POLLS_PER_TASK_HOUR));
    const sourceKms = s.kms_key_arn ? N : 0;
    lines.add(S, 'KMS requests', kms(sourceKms + P.SQS_KMS_REQUESTS_PER_QUEUE_MONTH + A * P.KMS_OUTBOX_PER_ARCHIVE), kms(s.kms_key_arn ? N * rule.destinations.length : 0));
    lines.add(S, 'CloudWatch Logs: compressor', logs(A * P.LOG_BYTES_PER_ARCHIVE));

    for (const T of targets) {
      const here = rule.destinations.filter((d) => d.region === T);
      const rtc = s.replication_time_control ? prices.s3.rtcGb : 0;
      // Transfer and RTC are billed to the source region; xregion sends each archive once per region.
      lines.add(S, `Inter-region transfer → ${T}`, (C / GB) * prices.s3.interRegionTransferGb, ((U * here.length) / GB) * prices.s3.interRegionTransferGb);
      if (rtc > 0) lines.add(S, `S3 RTC → ${T}`, (C / GB) * rtc, ((U * here.length) / GB) * rtc);
      lines.add(S, 'CloudWatch: S3 replication metrics', metrics(P.REPLICATION_METRICS_PER_RULE), metrics(P.REPLICATION_METRICS_PER_RULE * here.length));
      lines.add(S, 'CloudWatch: alarms', alarms(1), alarms(here.length));

      // Target region: replication writes, the router, destinations, catalog.
      lines.add(T, 'S3 requests: replication writes', per1000(A, std.putPer1000), here.reduce((sum, d) => sum + per1000(N, cls[d.storage_class].putPer1000), 0));
      lines.add(T, 'S3 requests: router on staging (HEAD, reads, delivery records)', per1000(A * (P.ROUTER_STAGING_GETS_PER_ARCHIVE + here.length * P.ROUTER_STAGING_GETS_PER_DESTINATION), std.getPer1000) + per1000(A * here.length * P.ROUTER_STAGING_PUTS_PER_DESTINATION, std.putPer1000));
      const routerSeconds = taskSeconds(N, U);
      const routerHours = routerSeconds / 3600;
      lines.add(T, 'Fargate: router', routerHours * taskHourPrice(P.ROUTER_TASK.cpu, P.ROUTER_TASK.memory, w.spot, prices));
      lines.add(T, 'SQS: router queue', sqs(A * P.SQS_PER_ARCHIVE + routerHours * P.SQS_IDLE_POLLS_PER_TASK_HOUR));
      const kmsHere = here.filter((d) => d.kms_key_arn).length;
      lines.add(T, 'KMS requests', kms(A * P.KMS_PER_ARCHIVE_PER_REGION + P.SQS_KMS_REQUESTS_PER_QUEUE_MONTH + A * kmsHere + N * here.filter((d) => d.kms_key_arn && !d.backup).length), kms(N * kmsHere));
      lines.add(T, 'CloudWatch Logs: router', logs(A * (P.LOG_BYTES_PER_ARCHIVE + here.length * P.LOG_BYTES_PER_DESTINATION)));

      for (const d of here) {
        const c = cls[d.storage_class];
        const days = retentionDaysOf(d, w, prices);
        const storageItem = `S3 storage: ${d.bucket} (${d.storage_class}, ${days} days${d.object_lock ? `, Object Lock ${d.object_lock.mode}` : ''})`;
        if (d.backup) {
          lines.add(T, `S3 requests: ${d.bucket} (backup copy)`, per1000(A * P.ROUTER_BACKUP_GETS_PER_ARCHIVE, c.getPer1000) + per1000(A * P.ROUTER_BACKUP_COPIES_PER_ARCHIVE, c.putPer1000));
          lines.add(T, storageItem, storageCost(C, A, days, d.storage_class, prices), storageCost(U, N, days, d.storage_class, prices));
        } else {
          lines.add(T, `S3 requests: ${d.bucket} (unpacked objects)`, per1000(N * P.ROUTER_NORMAL_GETS_PER_OBJECT, c.getPer1000) + per1000(N * P.ROUTER_NORMAL_PUTS_PER_OBJECT, c.putPer1000));
          lines.add(T, storageItem, storageCost(U, N, days, d.storage_class, prices), storageCost(U, N, days, d.storage_class, prices));
        }
      }
      if (here.some((d) => d.backup)) {
        const rows = N * P.CATALOG_ROW_BYTES;
        lines.add(T, 'S3: catalog rows (requests + storage)', per1000(A * P.ROUTER_CATALOG_GETS_PER_ARCHIVE, std.getPer1000) + per1000(A * P.ROUTER_CATALOG_PUTS_PER_ARCHIVE, std.putPer1000) + storageCost(rows, A, P.CATALOG_RETENTION_DAYS, 'STANDARD', prices));
        const catalogBytes = (rows * P.CATALOG_RETENTION_DAYS) / DAYS_PER_MONTH;
        const perQuery = Math.max(catalogBytes, prices.athena.minimumMbPerQuery * 1024 * 1024);
        lines.add(T, 'Athena: catalog queries', ((w.athenaQueriesPerMonth * perQuery) / TB) * prices.athena.perTbScanned);
      }
    }
  }
  addFixed(config, w, prices, lines);
  addRestore(config, w, prices, lines);
  return lines.list().filter((l) => l.xregion !== 0 || l.native !== 0);
}

/** What every stack costs whatever the volume: keys, alarms, dashboards, service metrics, the crawler, the outbox check. */
function addFixed(config: Config, w: Required<Workload>, prices: PriceTable, lines: Lines): void {
  const cw = prices.cloudwatch;
  const rules = config.replication_configuration;
  const sources = new Set([...rules.map((r) => r.source.region), ...config.drive_sources.map((d) => d.target.region)]);
  const targets = new Set(rules.flatMap((r) => r.destinations.map((d) => d.region)));
  for (const region of sources) {
    const mine = rules.filter((r) => r.source.region === region);
    const drives = config.drive_sources.filter((d) => d.target.region === region).length;
    // Per rule: DLQ, oldest message, the wake-from-zero alarm; per stack: compressor failures, outbox age and check errors.
    const alarms = mine.length * 3 + drives + (mine.length > 0 ? 3 : 0);
    lines.add(region, 'CloudWatch: alarms', alarms * cw.alarmMonth);
    lines.add(region, 'CloudWatch: dashboard', cw.dashboardMonth);
    lines.add(region, 'CloudWatch: service metrics (EMF)', (mine.length > 0 ? P.COMPRESSOR_METRICS + P.OUTBOX_CHECK_METRICS : 0) * cw.metricMonth);
    lines.add(region, 'KMS keys', (mine.length > 0 ? 2 : 1) * prices.kms.keyMonth);
    if (mine.length > 0) {
      lines.add(region, 'Lambda: outbox-age check', P.OUTBOX_CHECK_RUNS_PER_MONTH * (prices.lambda.perMillion / 1e6 + 0.25 * 2 * prices.lambda.gbSecond));
    }
  }
  for (const region of targets) {
    const dests = new Set(rules.flatMap((r) => r.destinations.filter((d) => d.region === region).map((d) => d.bucket)));
    const backup = rules.some((r) => r.destinations.some((d) => d.region === region && d.backup));
    // DLQ, oldest message, wake, failures, quarantined, missing.
    lines.add(region, 'CloudWatch: alarms', 6 * cw.alarmMonth);
    lines.add(region, 'CloudWatch: dashboard', cw.dashboardMonth);
    lines.add(region, 'CloudWatch: service metrics (EMF)', (P.ROUTER_METRICS + P.ROUTER_METRICS_PER_DESTINATION * dests.size) * cw.metricMonth);
    lines.add(region, 'KMS keys', 2 * prices.kms.keyMonth);
    if (backup) {
      const runs = DAYS_PER_MONTH;
      lines.add(region, 'Glue: daily catalog crawler', runs * P.CRAWLER_DPUS * (prices.glue.crawlerMinimumMinutes / 60) * prices.glue.crawlerDpuHour);
    }
  }
  void w;
}

/** Restores read the backup copy (compressed with xregion, the uncompressed replica natively) and send it out of AWS. */
function addRestore(config: Config, w: Required<Workload>, prices: PriceTable, lines: Lines): void {
  if (w.restoreTbPerMonth <= 0) return;
  const all = config.replication_configuration.flatMap((r) => r.destinations.map((d) => ({ rule: r, d })));
  const from = all.find((x) => x.d.backup) ?? all[0];
  const c = prices.s3.classes[from.d.storage_class];
  const R = w.restoreTbPerMonth * TB;
  const Rc = R / w.compressionRatio;
  const avgObject = w.filesPerMonth > 0 ? (w.tbPerMonth * TB) / w.filesPerMonth : R;
  const archives = archivesOf(from.rule, R / avgObject, R);
  const perGb = c.retrievalGb + prices.s3.internetTransferGb;
  // A bulk restore streams each archive (tail reads + one GET); natively each object is one GET.
  lines.add(from.d.region, `Restore: ${from.d.bucket} (retrieval + transfer out)`, (Rc / GB) * perGb + per1000(archives * 3, c.getPer1000), (R / GB) * perGb + per1000(R / avgObject, c.getPer1000));
}

/** Sums line items per region and in all. */
function totals(lines: LineItem[]) {
  const regions = new Map<string, { region: string; xregion: number; native: number }>();
  for (const l of lines) {
    const r = regions.get(l.region) ?? { region: l.region, xregion: 0, native: 0 };
    r.xregion += l.xregion;
    r.native += l.native;
    regions.set(l.region, r);
  }
  const list = [...regions.values()];
  return { regions: list, total: { xregion: list.reduce((s, r) => s + r.xregion, 0), native: list.reduce((s, r) => s + r.native, 0) } };
}

/** The monthly estimate of a config and workload, with the break-even volume. */
export function estimateCost(config: Config, workload: Workload, prices: PriceTable = DEFAULT_PRICES): Estimate {
  const w = normalizeWorkload(workload);
  const lines = lineItems(config, w, prices);
  const { regions, total } = totals(lines);
  return { pricesDate: prices.date, workload: w, lines, regions, total, breakEvenTbPerMonth: breakEven(config, w, prices) };
}

/**
 * The monthly volume at which xregion and native CRR cost the same, the average file size, ratio
 * and restore share held: both totals are linear in volume (fixed + slope × TB), so two points
 * give each line. 0 when xregion is cheaper at any volume; null when its slope is not below CRR's.
 */
export function breakEven(config: Config, w: Required<Workload>, prices: PriceTable): number | null {
  const bytesPerFile = w.filesPerMonth > 0 && w.tbPerMonth > 0 ? (w.tbPerMonth * TB) / w.filesPerMonth : 1024 * 1024;
  const restoreShare = w.tbPerMonth > 0 ? w.restoreTbPerMonth / w.tbPerMonth : 0;
  const at = (tb: number) => totals(lineItems(config, { ...w, tbPerMonth: tb, filesPerMonth: (tb * TB) / bytesPerFile, restoreTbPerMonth: tb * restoreShare }, prices)).total;
  const a = at(1);
  const b = at(2);
  const slopeX = b.xregion - a.xregion;
  const slopeN = b.native - a.native;
  const fixedX = a.xregion - slopeX;
  const fixedN = a.native - slopeN;
  if (fixedX <= fixedN && slopeX <= slopeN) return 0;
  if (slopeX >= slopeN) return null;
  return (fixedX - fixedN) / (slopeN - slopeX);
}
