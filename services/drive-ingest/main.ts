/** ECS entry point of drive-ingest (a scheduled task): environment → adapters → one DriveIngestService run. */
import { DriveRunLockedError, runProblems } from '../../shared/drive';
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
  let stoppedBy: NodeJS.Signals | undefined;
  // ECS sends SIGTERM before stopping a task: finish in-flight files' bookkeeping, the next run resumes.
  const onSignal = (sig: NodeJS.Signals) => { stoppedBy ??= sig; stop.abort(); };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const report = await service.run(settings.source, { signal: stop.signal });
  process.stdout.write(`${DriveIngestService.format(report)}\n`);
  // Any subject not ok (partial, quota_exceeded, error, aborted) fails the task, so the ECS
  // task-failure alarm sees users that fail every day; a stop by signal exits 128+signal as usual.
  const problems = runProblems(report);
  for (const p of problems) process.stderr.write(`drive-ingest: ${p}\n`);
  process.exitCode = stoppedBy ? (stoppedBy === 'SIGINT' ? 130 : 143) : problems.length ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`drive-ingest: ${err instanceof Error ? err.message : String(err)}\n`);
  // The previous scheduled run is still going (e.g. a first full run of a large domain): this
  // one is skipped, not failed, so the task-failure alarm does not fire every day meanwhile.
  process.exit(err instanceof DriveRunLockedError ? 0 : 1);
});
