/**
 * A real pipeline output for the catalog, restore and verify tests: the local appliance run
 * several times with its clock pinned to dates the product guide's queries ask about
 * (2025-01-20 and 2025-01-23, inside days 20–25; 2025-01-27 outside; 2024-12-31 another month),
 * with Drive metadata, an `invoice` name, and `important-document.pdf` backed up twice.
 */
import { runCli, type CliResult } from '../helpers/runCli';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalAppliance } from '../../services/cli/appliance/LocalAppliance';
import { registerCatalogCommands } from '../../services/cli/commands/catalogCommand';
import { registerRestoreCommands } from '../../services/cli/commands/restoreCommand';
import { registerVerifyCommands } from '../../services/cli/commands/verifyCommand';
import type { Manifest } from '../../shared/archive';
import { createLogger } from '../../shared/observability';
import type { LocalObjectStore } from '../../shared/storage';
import { patternStream } from '../helpers/bytes';
import { BACKUP, NORMAL, PREFIX, SOURCE, backupManifests, testConfig } from '../pipeline/fixtures';

export { BACKUP, NORMAL, PREFIX, SOURCE };

export interface FixtureObject {
  key: string;
  seed: number;
  size: number;
  contentType: string;
  user: string;
  /** Drive MIME type of the original (an exported Google Doc). */
  driveMime?: string;
}

/** The runs: a pinned clock and the objects put before it. */
export const RUNS: { at: string; objects: FixtureObject[] }[] = [
  {
    at: '2025-01-20T09:30:00.000Z',
    objects: [
      { key: `${PREFIX}ana@acme.com/Finance/invoice-001.pdf`, seed: 11, size: 20_000, contentType: 'application/pdf', user: 'ana@acme.com' },
      { key: `${PREFIX}ana@acme.com/important-document.pdf`, seed: 12, size: 3_000, contentType: 'application/pdf', user: 'ana@acme.com' },
      { key: `${PREFIX}bob@acme.com/notes.txt`, seed: 13, size: 700, contentType: 'text/plain', user: 'bob@acme.com' },
      { key: `${PREFIX}bob@acme.com/media/big.bin`, seed: 14, size: 400_000, contentType: 'application/octet-stream', user: 'bob@acme.com' },
      ...Array.from({ length: 8 }, (_, i) => ({ key: `${PREFIX}bob@acme.com/logs/log-${i}.txt`, seed: 30 + i, size: 30_000 + i, contentType: 'text/plain', user: 'bob@acme.com' })),
    ],
  },
  {
    at: '2025-01-23T18:00:00.000Z',
    objects: [
      { key: `${PREFIX}ana@acme.com/important-document.pdf`, seed: 22, size: 3_500, contentType: 'application/pdf', user: 'ana@acme.com' },
      { key: `${PREFIX}ana@acme.com/Finance/invoice-002.pdf`, seed: 23, size: 150_000, contentType: 'application/pdf', user: 'ana@acme.com' },
    ],
  },
  {
    at: '2025-01-27T08:00:00.000Z',
    objects: [{ key: `${PREFIX}bob@acme.com/late.txt`, seed: 41, size: 900, contentType: 'text/plain', user: 'bob@acme.com' }],
  },
  {
    at: '2024-12-31T23:00:00.000Z',
    objects: [
      { key: `${PREFIX}old/year-end.csv`, seed: 51, size: 1_100, contentType: 'text/csv', user: 'carol@acme.com' },
      {
        key: `${PREFIX}carol@acme.com/Plans/roadmap.docx`,
        seed: 52,
        size: 2_400,
        contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        user: 'carol@acme.com',
        driveMime: 'application/vnd.google-apps.document',
      },
    ],
  },
];

export interface CatalogFixture {
  dataDir: string;
  configFile: string;
  appliance: LocalAppliance;
  backupStore: LocalObjectStore;
  catalogBucket: string;
  manifests: { key: string; manifest: Manifest }[];
  cleanup: () => void;
}

/** Runs the pipeline once per RUNS entry into a fresh data dir (also writes the config file for the CLI). */
export async function buildCatalogFixture(): Promise<CatalogFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xregion-restore-'));
  const config = testConfig();
  const configFile = join(dataDir, 'replication_config.json');
  writeFileSync(configFile, JSON.stringify({
    stack_name: config.stack_name,
    replication_configuration: [{
      source: { ...SOURCE, prefix_filter: PREFIX, batch: { max_objects: 1000, max_wait_seconds: 1 }, compression: { frame_target_bytes: 65536 } },
      destinations: [{ ...BACKUP, backup: true, storage_class: 'STANDARD' }, { ...NORMAL, storage_class: 'STANDARD_IA' }],
    }],
  }));
  let appliance: LocalAppliance | undefined;
  for (const run of RUNS) {
    const at = Date.parse(run.at);
    appliance = new LocalAppliance({ config, dataDir, logger: createLogger('test', 'SILENT'), now: () => at });
    await appliance.init();
    const store = appliance.topology.store(SOURCE.region);
    for (const o of run.objects) {
      await store.put(SOURCE.bucket, o.key, patternStream(o.seed, o.size), {
        contentType: o.contentType,
        size: o.size,
        metadata: {
          'drive-user': encodeURIComponent(o.user),
          'drive-path': encodeURIComponent(o.key.slice(PREFIX.length)),
          ...(o.driveMime && { 'drive-mime-type': encodeURIComponent(o.driveMime) }),
        },
      });
    }
    await appliance.runUntilIdle();
  }
  const backupStore = appliance!.topology.store(BACKUP.region);
  const manifests = await backupManifests({ store: backupStore, bucket: BACKUP.bucket });
  return {
    dataDir,
    configFile,
    appliance: appliance!,
    backupStore,
    catalogBucket: appliance!.topology.catalogBucket(BACKUP.region),
    manifests,
    cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

/** Every archived object with the archive holding it (from the manifests, the ground truth). */
export function archivedObjects(f: CatalogFixture) {
  return f.manifests.flatMap((a) =>
    a.manifest.objects.map((o) => ({ archiveKey: a.key, backupFile: a.manifest.archive, created: a.manifest.created, key: o.key, name: o.key.slice(o.key.lastIndexOf('/') + 1), size: o.size, sha256: o.sha256 })),
  );
}

/** Runs an xregion command in-process; returns exit code, stdout and stderr. */
export function cli(args: string[]): Promise<CliResult> {
  return runCli([registerCatalogCommands, registerRestoreCommands, registerVerifyCommands], args);
}
