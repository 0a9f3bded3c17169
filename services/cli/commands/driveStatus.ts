/**
 * `xregion drive status`: the per-subject status records of a Drive source (written by each run
 * beside the subject's state), as a table or, with --json, one stable document for scripts and
 * monitoring: `{ "source", "bucket", "subjects": [SubjectStatusRecord...] }`.
 */
import { resolve } from 'node:path';
import { readConfig, type DriveSource } from '../../../shared/config';
import { formatDriveStatus, readDriveStatus } from '../../../shared/drive/statusRecord';
import { createObjectStore, type ObjectStore } from '../../../shared/storage';
import { LocalTopology } from '../appliance/LocalTopology';

export interface DriveStatusFlags {
  config: string;
  source?: string;
  user?: string;
  status?: string;
  json?: boolean;
  dataDir?: string;
}

function pickSource(sources: DriveSource[], name: string | undefined, path: string): DriveSource {
  if (sources.length === 0) throw new Error(`${path} has no drive_sources`);
  const s = name ? sources.find((x) => x.name === name) : sources.length === 1 ? sources[0] : undefined;
  if (!s) throw new Error(name ? `${path} has no drive source named ${name}` : `${path} has ${sources.length} drive sources: pick one with --source (${sources.map((x) => x.name).join(', ')})`);
  return s;
}

/** Prints the status records (exit 0 whatever they say: it reports, `ingest drive` fails). */
export async function driveStatus(flags: DriveStatusFlags): Promise<void> {
  const { config } = readConfig(flags.config);
  const source = pickSource(config.drive_sources, flags.source, flags.config);
  let store: ObjectStore;
  if (flags.dataDir) {
    // Read only: no data-dir lock, so status works while `xregion start` or an ingest runs.
    const topology = new LocalTopology(config, resolve(flags.dataDir));
    await topology.init();
    store = topology.store(source.target.region);
  } else {
    store = createObjectStore({ kind: 's3', region: source.target.region, endpoint: process.env.XREGION_AWS_ENDPOINT || undefined });
  }
  const records = (await readDriveStatus(store, source.target.bucket, source.name))
    .filter((r) => !flags.user || r.subject === flags.user)
    .filter((r) => !flags.status || r.status === flags.status);
  if (flags.json) process.stdout.write(`${JSON.stringify({ source: source.name, bucket: source.target.bucket, subjects: records }, null, 2)}\n`);
  else process.stdout.write(`${formatDriveStatus(source.name, records)}\n`);
}
