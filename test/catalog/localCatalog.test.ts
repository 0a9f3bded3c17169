import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliEnv } from '../../services/cli/commands/catalog';
import { catalogKey, catalogRows, toJsonl } from '../../shared/catalog';
import { BACKUP, SOURCE } from '../pipeline/fixtures';

describe('Class: CliEnv', () => {
  describe('Method: localCatalog', () => {
    it('a rule whose prefix_filter has no trailing slash (`logs`) sees the rows the router wrote, and only its own', async () => {
      // Prepare: two rules, `logs` and `metrics`, each with one catalog file where the router puts it
      const dataDir = mkdtempSync(join(tmpdir(), 'xregion-catalog-'));
      const rule = (prefix: string) => ({ source: { ...SOURCE, prefix_filter: prefix }, destinations: [{ ...BACKUP, backup: true, storage_class: 'STANDARD' }] });
      const configFile = join(dataDir, 'replication_config.json');
      writeFileSync(configFile, JSON.stringify({ stack_name: 'xrtest', replication_configuration: [rule('logs'), rule('metrics')] }));
      const env = new CliEnv({ config: configFile, dataDir });
      const root = join(env.topology.regionDir(BACKUP.region), env.topology.catalogBucket(BACKUP.region));
      for (const prefix of ['logs', 'metrics']) {
        const created = '2025-01-20T09:30:00.000Z';
        const manifest = { archive: `backup_${prefix}.tar.zst`, created, source: { bucket: SOURCE.bucket, prefix }, objects: [{ key: `${prefix}/a.txt`, size: 1, sha256: '0'.repeat(64), metadata: {}, offset: 512 }] };
        const file = join(root, catalogKey(SOURCE.bucket, prefix, new Date(created), manifest.archive));
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, toJsonl(catalogRows(manifest, { backupRegion: BACKUP.region, archiveKey: `k/${manifest.archive}`, targetBuckets: [BACKUP.bucket] })));
      }
      const q = await env.localCatalog();
      try {
        // Act
        const r = await q.query('SELECT object_path FROM src_bucket_logs ORDER BY 1');
        // Assess
        expect(r.rows).toEqual([{ object_path: 'logs/a.txt' }]);
      } finally {
        await q.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
