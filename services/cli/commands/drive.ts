/**
 * `xregion ingest drive`: back up a Drive source from a laptop (the same code as the ECS task),
 * and `xregion sample-drive`: run the sample Drive server on its own. The actions; ./driveCommand
 * registers them and loads this module (googleapis among it) only when one runs.
 */
import { resolve } from 'node:path';
import { readConfig, type DriveSource } from '../../../shared/config';
import { DriveRunLockedError, loadDriveCredentials, runProblems, type DriveCredentials } from '../../../shared/drive';
import { createObjectStore, type ObjectStore } from '../../../shared/storage';
import { DriveIngestService } from '../../drive-ingest/DriveIngestService';
import { sampleCredentials, startSampleDrive } from '../../sample-drive';
import { DataDirBusyError, DataDirLock } from '../appliance/DataDirLock';
import { LocalTopology } from '../appliance/LocalTopology';
import { StatusLine } from '../progress';

/** Exit status when another run of the source holds its lease (EX_TEMPFAIL: try again later). */
const EXIT_RUN_LOCKED = 75;

export interface IngestFlags {
  config: string;
  source?: string;
  user?: string;
  credentials?: string;
  dryRun?: boolean;
  dataDir?: string;
  driveUrl?: string;
}

function pickSource(sources: DriveSource[], name: string | undefined, path: string): DriveSource {
  if (sources.length === 0) throw new Error(`${path} has no drive_sources`);
  if (!name) {
    if (sources.length > 1) throw new Error(`${path} has ${sources.length} drive sources: pick one with --source (${sources.map((s) => s.name).join(', ')})`);
    return sources[0];
  }
  const s = sources.find((x) => x.name === name);
  if (!s) throw new Error(`${path} has no drive source named ${name}`);
  return s;
}

export async function ingest(flags: IngestFlags): Promise<void> {
  const { config } = readConfig(flags.config);
  const source = pickSource(config.drive_sources, flags.source, flags.config);
  const rootUrl = flags.driveUrl ?? process.env.XREGION_DRIVE_ROOT_URL;
  // Against the sample Drive, any service-account key will do: use a throwaway one.
  const credentials: DriveCredentials = flags.credentials || !rootUrl || process.env.XREGION_DRIVE_CREDENTIALS ? loadDriveCredentials({ file: flags.credentials }) : sampleCredentials();
  let store: ObjectStore;
  let lock: DataDirLock | undefined;
  if (flags.dataDir) {
    // The appliance's own rendering of the folder, so every file backed up queues its event for the
    // next `xregion start`; and its lock, so no running `start` has its queues written behind its back.
    const dataDir = resolve(flags.dataDir);
    try {
      lock = DataDirLock.acquire(dataDir, 'xregion ingest drive', (dead) => process.stderr.write(`taking over ${dataDir} from a run that is gone (pid ${dead.pid})\n`));
    } catch (err) {
      if (!(err instanceof DataDirBusyError)) throw err;
      process.stderr.write(`xregion ingest drive: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    const topology = new LocalTopology(config, dataDir);
    await topology.init();
    store = topology.store(source.target.region);
  } else {
    store = createObjectStore({ kind: 's3', region: source.target.region, endpoint: process.env.XREGION_AWS_ENDPOINT || undefined });
  }
  try {
    await ingestInto(store, source, credentials, rootUrl, flags);
  } finally {
    lock?.release();
  }
}

async function ingestInto(store: ObjectStore, source: DriveSource, credentials: DriveCredentials, rootUrl: string | undefined, flags: IngestFlags): Promise<void> {
  const status = new StatusLine(process.stderr);
  let last = 0;
  const stop = new AbortController();
  let interrupted = false;
  process.once('SIGINT', () => { interrupted = true; stop.abort(); });
  let report;
  try {
    report = await new DriveIngestService({ store, credentials, rootUrl }).run(source, {
      userFilter: flags.user,
      dryRun: flags.dryRun,
      signal: stop.signal,
      onProgress: (subject, r) => {
        if (Date.now() - last < 200) return;
        last = Date.now();
        const s = r.stats;
        status.update(`${subject}: ${s.total} files, ${s.uploaded} uploaded, ${s.skippedUnchanged} unchanged, ${s.failed} failed`);
      },
    });
  } catch (err) {
    if (!(err instanceof DriveRunLockedError)) throw err;
    status.clear();
    process.stderr.write(`xregion ingest drive: ${err.message}\n`);
    process.exitCode = EXIT_RUN_LOCKED;
    return;
  }
  status.clear();
  process.stdout.write(`${DriveIngestService.format(report)}\n`);
  // Any subject not ok (partial, quota_exceeded, error, aborted) is a failed run: say why, exit 1
  // (130 when interrupted with Ctrl-C; the next run resumes either way).
  const problems = runProblems(report);
  for (const p of problems) process.stderr.write(`xregion ingest drive: ${p}\n`);
  if (interrupted) process.exitCode = 130;
  else if (problems.length) process.exitCode = 1;
}

export interface SampleDriveFlags {
  port: string;
  seed: string;
  simulateChanges?: boolean;
  latency: string;
  dataDir?: string;
}

/** `xregion sample-drive`: serves until SIGINT or SIGTERM. */
export async function runSampleDrive(flags: SampleDriveFlags): Promise<void> {
  const sd = await startSampleDrive({ port: Number(flags.port), seed: Number(flags.seed), latencyMs: Number(flags.latency), dataDir: flags.dataDir });
  const changed = flags.simulateChanges ? sd.simulateChanges() : [];
  process.stdout.write(
    `sample Drive listening on ${sd.url}\n` +
      (changed.length ? `applied scripted edits: ${changed.join('; ')}\n` : '') +
      `ingest with: xregion ingest drive --drive-url ${sd.url} --data-dir .xregion\n` +
      `POST ${sd.url}_sample/simulate-changes applies the next round of edits; GET ${sd.url}_sample/stats counts requests\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sd.close();
}
