/**
 * `xregion start` (= `npm start`): run the whole pipeline locally on the embedded default. The
 * action; ./startCommand registers it and loads this module (the appliance, googleapis for the
 * sample Drive) only when it runs.
 */
import { resolve } from 'node:path';
import { ConfigError, readConfig, formatIssue, refuseUndeliveredDestinations } from '../../../shared/config';
import { DataDirBusyError, DataDirLock } from '../appliance/DataDirLock';
import { DEFAULT_SETTLE_MS, LocalAppliance, type CycleResult } from '../appliance/LocalAppliance';
import { formatReport } from '../appliance/report';
import { writeSampleData } from '../appliance/sampleData';
import { formatRunReport, type DriveRunReport } from '../../../shared/drive';
import { ingestFromSampleDrive } from '../appliance/sampleDriveIngest';
import { StatusLine } from '../progress';

export interface StartOptions {
  config: string;
  dataDir: string;
  watch?: boolean;
  sample: boolean;
  drive: boolean;
  simulateChanges?: boolean;
  /** Seconds a dropped file's size and mtime must stay unchanged before it is announced. */
  settleSeconds?: string;
}

async function isEmpty(appliance: LocalAppliance): Promise<boolean> {
  for (const rule of appliance.config.replication_configuration) {
    const store = appliance.topology.store(rule.source.region);
    for await (const _ of store.list(rule.source.bucket, rule.source.prefix_filter)) return false;
  }
  return true;
}

function merge(into: CycleResult, r: CycleResult): void {
  into.archived.push(...r.archived);
  into.replicated += r.replicated;
  into.routed.push(...r.routed);
  into.quarantined.push(...r.quarantined);
}

/** Runs the local pipeline once (or keeps watching); returns the process exit code. */
export async function runStart(opts: StartOptions): Promise<number> {
  const started = Date.now();
  const { config, warnings } = readConfig(opts.config);
  refuseUndeliveredDestinations(opts.config, warnings);
  for (const w of warnings) process.stderr.write(`warning: ${formatIssue(w)}\n`);
  const dataDir = resolve(opts.dataDir);
  const settleMs = parseSettleSeconds(opts.settleSeconds);
  // One owner per data dir: a second `start` would process the persisted backlog twice.
  const lock = DataDirLock.acquire(dataDir, `xregion start${opts.watch ? ' --watch' : ''}`, (dead) =>
    process.stderr.write(`taking over ${dataDir} from a run that is gone (pid ${dead.pid} on ${dead.host}, since ${dead.since})\n`),
  );
  try {
    return await runWithLock(opts, dataDir, settleMs, started, config);
  } finally {
    lock.release();
  }
}

/** The `--settle-seconds` value in ms; a clear error for anything but a non-negative number. */
function parseSettleSeconds(value: string | undefined): number {
  if (value === undefined) return DEFAULT_SETTLE_MS;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--settle-seconds: "${value}" is not a number of seconds (0 or more)`);
  return Math.round(n * 1000);
}

class UsageError extends Error {}

async function runWithLock(opts: StartOptions, dataDir: string, settleMs: number, started: number, config: ReturnType<typeof readConfig>['config']): Promise<number> {
  const appliance = new LocalAppliance({ config, dataDir, settleMs });
  // init() also announces files already in the source buckets (placed there before `start`).
  await appliance.init();
  const status = new StatusLine(process.stderr);

  let driveReports: DriveRunReport[] = [];
  if (config.drive_sources.length > 0 && opts.drive) {
    status.update('starting the sample Drive server…');
    const run = await ingestFromSampleDrive(config, appliance.topology, {
      simulateChanges: Boolean(opts.simulateChanges),
      onProgress: (subject, r) => status.update(`drive-ingest: ${subject}: ${r.stats.total} files seen, ${r.stats.uploaded} uploaded, ${r.stats.skippedUnchanged} unchanged`),
    });
    driveReports = run.reports;
    if (run.changes.length) status.done(`sample Drive: applied edit round ${run.rounds}: ${run.changes.join('; ')}`);
    for (const r of driveReports) status.done(`drive-ingest ${r.source}:\n${formatRunReport(r)}`);
  } else if (opts.sample && (await isEmpty(appliance))) {
    const rule = config.replication_configuration[0];
    status.update(`source bucket s3://${rule.source.bucket}/${rule.source.prefix_filter} is empty: writing the sample data set`);
    let n = 0;
    const { objects, bytes } = await writeSampleData(appliance.topology.store(rule.source.region), rule.source.bucket, rule.source.prefix_filter, () => status.update(`writing sample data: ${++n} objects`));
    status.done(`wrote ${objects} sample objects (${(bytes / 1e6).toFixed(1)} MB) to s3://${rule.source.bucket}/${rule.source.prefix_filter}`);
  }

  const run: CycleResult = { archived: [], replicated: 0, routed: [], quarantined: [] };
  const progress = setInterval(() => {
    const m = appliance.metrics;
    status.update(`compressor: ${m.total('ObjectsArchived')} objects archived · router: ${m.total('ArchivesRouted')} archives routed, ${m.total('CatalogRows')} catalog rows`);
  }, 250);
  try {
    merge(run, await appliance.runUntilIdle());
    // Files seen but still changing are announced once settled, and files changed while the run
    // went on are announced again: a plain run ends only when a scan finds nothing new or unsettled.
    for (;;) {
      const announced = await appliance.scanSources();
      if (announced.length) merge(run, await appliance.runUntilIdle());
      else if ((await appliance.unsettledFiles()) === 0) break;
      else {
        status.update(`waiting for ${await appliance.unsettledFiles()} file(s) in the source buckets to stop changing (--settle-seconds ${settleMs / 1000})…`);
        await new Promise((res) => setTimeout(res, Math.min(1000, Math.max(50, settleMs / 2))));
      }
    }
    status.done(`pipeline idle after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (opts.watch) {
      process.stderr.write('watching for new files (Ctrl-C to stop)…\n');
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      while (!stop.signal.aborted) {
        await appliance.scanSources();
        const r = await appliance.runUntilIdle();
        const fresh = r.archived.reduce((n, a) => n + a.objects, 0);
        if (fresh || r.routed.length) process.stderr.write(`${fresh} new object${fresh === 1 ? '' : 's'} archived; ${r.routed.length} archive deliver${r.routed.length === 1 ? 'y' : 'ies'} to target regions\n`);
        merge(run, r);
        await new Promise((res) => setTimeout(res, 1000));
      }
    }
  } finally {
    clearInterval(progress);
    status.clear();
  }

  const drive = driveReports.map((r) => `  drive ${r.source}: ${r.stats.total} files, ${r.stats.uploaded} uploaded, ${r.stats.skippedUnchanged} unchanged, ${r.stats.failed} failed (run record s3://${config.drive_sources.find((d) => d.name === r.source)?.target.bucket}/${r.recordKey})`);
  process.stdout.write(`${formatReport(appliance, run, Date.now() - started, process.cwd(), drive)}\n`);
  const dead = await appliance.deadLetters();
  let code = 0;
  if (appliance.failures > 0 || dead.length > 0) {
    process.stderr.write(`\n${appliance.failures} failure(s); dead-letter queues: ${dead.map((d) => `${d.queue}=${d.depth}`).join(', ') || 'empty'}. Failed work is retried on the next run.\n`);
    code = 1;
  }
  // A quarantined archive's objects reached no destination: never a clean run.
  if (run.quarantined.length) {
    process.stderr.write(`\n${run.quarantined.length} archive(s) quarantined, their objects not delivered:\n${run.quarantined.map((q) => `  ${q.quarantineKey}: ${q.reason}`).join('\n')}\n`);
    code = 1;
  }
  return code;
}

/** `xregion start`: the run's exit code, or one line and 2 for a bad config, a busy data dir or a bad option. */
export async function runStartCommand(opts: StartOptions): Promise<void> {
  try {
    process.exitCode = await runStart(opts);
  } catch (err) {
    if (!(err instanceof ConfigError || err instanceof DataDirBusyError || err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2;
  }
}
