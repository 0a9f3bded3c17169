/**
 * A real pipeline state to reconcile: the local appliance run over the pipeline test objects
 * (one rule, a backup destination in eu-central-1 and a normal one in ca-central-1), the config
 * file for the CLI, and the CLI run in-process.
 */
import { runCli, type CliResult } from '../helpers/runCli';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { LocalAppliance } from '../../services/cli/appliance/LocalAppliance';
import { LocalTopology } from '../../services/cli/appliance/LocalTopology';
import { registerReconcileCommand } from '../../services/cli/commands/reconcileCommand';
import { ArchiveWriter, type Manifest } from '../../shared/archive';
import type { Config } from '../../shared/config';
import { createLogger } from '../../shared/observability';
import { reconcile, type ReconcileOptions, type ReconcileReport } from '../../shared/reconcile';
import type { LocalObjectStore } from '../../shared/storage';
import { BACKUP, NORMAL, PREFIX, SOURCE, TEST_OBJECTS, putTestObjects, testConfig, type TestObject } from '../pipeline/fixtures';

export { BACKUP, NORMAL, PREFIX, SOURCE, TEST_OBJECTS };

/** The pipeline objects without the 6 MiB one: the same names, a faster run. */
export const OBJECTS: TestObject[] = TEST_OBJECTS.filter((o) => o.size < 1024 * 1024);

export interface Pipeline {
  dataDir: string;
  configFile: string;
  config: Config;
  appliance: LocalAppliance;
  source: LocalObjectStore;
  normal: LocalObjectStore;
  backup: LocalObjectStore;
  catalogBucket: string;
  /** reconcile() over this data dir (fresh stores, as a new process); settled before one second from now unless told otherwise. */
  run: (opts?: Partial<ReconcileOptions>) => Promise<ReconcileReport>;
  /** The same data dir after a restart (a new appliance; queues and records persisted). */
  restart: (maxObjects?: number) => Promise<LocalAppliance>;
  cleanup: () => void;
}

/** The rule and destinations of testConfig(), as a config file for the CLI. */
function configJson(maxObjects: number) {
  return {
    stack_name: 'xrtest',
    replication_configuration: [
      {
        source: { ...SOURCE, prefix_filter: PREFIX, batch: { max_objects: maxObjects, max_wait_seconds: 1 }, compression: { frame_target_bytes: 65536 } },
        destinations: [
          { ...BACKUP, backup: true, storage_class: 'STANDARD' },
          { ...NORMAL, storage_class: 'STANDARD_IA' },
        ],
      },
    ],
  };
}

/** A fresh data dir with the appliance initialised; `deliver` also puts OBJECTS and runs until idle. */
export async function pipeline(opts: { maxObjects?: number; deliver?: boolean } = {}): Promise<Pipeline> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xregion-reconcile-'));
  const maxObjects = opts.maxObjects ?? 10;
  const config = testConfig({ maxObjects });
  const configFile = join(dataDir, 'replication_config.json');
  writeFileSync(configFile, JSON.stringify(configJson(maxObjects)));
  const make = (n: number) => new LocalAppliance({ config: testConfig({ maxObjects: n }), dataDir, logger: createLogger('test', 'SILENT'), fsync: false });
  const appliance = make(maxObjects);
  await appliance.init();
  const t = appliance.topology;
  const source = t.store(SOURCE.region);
  if (opts.deliver !== false) {
    await putTestObjects(source, SOURCE.bucket, OBJECTS);
    await appliance.runUntilIdle();
  }
  return {
    dataDir,
    configFile,
    config,
    appliance,
    source,
    normal: t.store(NORMAL.region),
    backup: t.store(BACKUP.region),
    catalogBucket: t.catalogBucket(BACKUP.region),
    run: (o = {}) => {
      // A fresh topology, as a new `xregion reconcile` process has: no store caches from the pipeline run.
      const fresh = new LocalTopology(config, dataDir);
      return reconcile({ topology: fresh.model, store: (r) => fresh.store(r), settledBefore: new Date(Date.now() + 1000), ...o });
    },
    restart: async (n = maxObjects) => {
      const a = make(n);
      await a.init();
      return a;
    },
    cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

/** Keys of a bucket (optionally only those ending with `suffix`). */
export async function keysOf(store: LocalObjectStore, bucket: string, suffix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(bucket)) if (o.key.endsWith(suffix)) keys.push(o.key);
  return keys;
}

/** Writes an archive (real writer, no worker threads) of `members` with `skipped` entries into a bucket. */
export async function putArchive(
  store: LocalObjectStore,
  bucket: string,
  key: string,
  members: { key: string; data: Buffer; lastModified?: Date }[],
  skipped: { key: string; reason: string }[] = [],
  created?: Date,
): Promise<Manifest> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  const name = key.slice(key.lastIndexOf('/') + 1);
  const writer = new ArchiveWriter(out, { archiveName: name, source: { region: SOURCE.region, bucket: SOURCE.bucket, prefix: PREFIX }, threads: 0, ...(created && { created }) });
  for (const m of members) {
    await writer.addMember({ key: m.key, relativeKey: m.key.slice(PREFIX.length), size: m.data.length, ...(m.lastModified && { lastModified: m.lastModified }), metadata: {} }, Readable.from([m.data]));
  }
  for (const s of skipped) writer.addSkipped(s.key, s.reason);
  const manifest = await writer.finish();
  await store.put(bucket, key, Buffer.concat(chunks), { contentType: 'application/zstd' });
  return manifest;
}

/** Runs `xregion reconcile …` in-process; returns exit code, stdout and stderr. */
export function cli(args: string[]): Promise<CliResult> {
  return runCli([registerReconcileCommand], ['reconcile', ...args]);
}
