/** ECS entry point of drive-ingest (a scheduled task): environment → adapters → one DriveIngestService run. */
import { createLogger, PowertoolsMetrics } from '../../shared/observability';
import { createObjectStore } from '../../shared/storage';
import { DriveIngestService } from './DriveIngestService';
import { readDriveIngestSettings } from './settings';

async function main(): Promise<void> {
  const settings = readDriveIngestSettings(process.env);
  const service = new DriveIngestService({
    store: createObjectStore({ kind: 's3', region: settings.source.target.region, endpoint: settings.endpoint }),
    credentials: settings.credentials,
    rootUrl: settings.rootUrl,
    logger: createLogger('drive-ingest'),
    metrics: new PowertoolsMetrics('drive-ingest'),
  });
  const stop = new AbortController();
  // ECS sends SIGTERM before stopping a task: finish in-flight files' bookkeeping, the next run resumes.
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  const report = await service.run(settings.source, { signal: stop.signal });
  process.stdout.write(`${DriveIngestService.format(report)}\n`);
  const failed = report.subjects.some((s) => s.status === 'error') || !!report.recordError;
  process.exitCode = failed ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`drive-ingest: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
