/**
 * The drive-ingest service: one run of one Drive source into the source bucket, with logs and
 * EMF metrics. The ECS task (main.ts), `xregion ingest drive` and the local appliance all use it.
 */
import type { DriveSource } from '../../shared/config';
import { DriveRunLockedError, formatRunReport, runDriveIngest, type DriveCredentials, type DriveIngestOptions, type DriveRunReport } from '../../shared/drive';
import type { ServiceLogger, ServiceMetrics } from '../../shared/observability';
import type { ObjectStore } from '../../shared/storage';

export interface DriveIngestServiceDeps {
  store: ObjectStore;
  credentials: DriveCredentials;
  /** Drive API root (the sample Drive); default Google's. */
  rootUrl?: string;
  logger?: ServiceLogger;
  metrics?: ServiceMetrics;
  /** Tuning passed through to the connector (pacing, backoff, timeouts). */
  tuning?: Partial<Omit<DriveIngestOptions, 'source' | 'store' | 'credentials' | 'rootUrl' | 'metrics'>>;
}

export interface DriveRunOptions {
  userFilter?: string;
  dryRun?: boolean;
  signal?: AbortSignal;
  onProgress?: DriveIngestOptions['onProgress'];
}

export class DriveIngestService {
  constructor(private readonly deps: DriveIngestServiceDeps) {}

  /** Backs up one Drive source; resolves with the run report (per-subject failures are in it, not thrown). */
  async run(source: DriveSource, opts: DriveRunOptions = {}): Promise<DriveRunReport> {
    const { logger } = this.deps;
    logger?.info('drive ingest starting', { source: source.name, bucket: source.target.bucket, users: source.users === 'all' ? 'all' : source.users.length, dryRun: !!opts.dryRun });
    let report: DriveRunReport;
    try {
      report = await runDriveIngest({
        ...this.deps.tuning,
        source, store: this.deps.store, credentials: this.deps.credentials, rootUrl: this.deps.rootUrl, metrics: this.deps.metrics,
        userFilter: opts.userFilter, dryRun: opts.dryRun, signal: opts.signal, onProgress: opts.onProgress,
      });
    } catch (err) {
      if (err instanceof DriveRunLockedError) logger?.warn('drive ingest skipped: another run of this source is active', { source: source.name, holder: err.holder });
      throw err;
    }
    for (const s of report.subjects) {
      const log = s.status === 'ok' ? logger?.info.bind(logger) : logger?.warn.bind(logger);
      log?.('drive subject finished', { subject: s.subject, mode: s.mode, status: s.status, message: s.message, ...s.stats });
    }
    for (const u of report.skippedUsers) logger?.info('drive user skipped', u);
    if (report.recordError) logger?.error(report.recordError);
    logger?.info('drive ingest finished', { runId: report.runId, record: report.recordKey, durationMs: report.durationMs, ...report.stats });
    return report;
  }

  /** The run's text table. */
  static format(report: DriveRunReport): string {
    return formatRunReport(report);
  }
}

export { runDriveIngest, formatRunReport, type DriveRunReport };
