import { latestVersions, RESTORE_COLUMNS } from '../../shared/restore';

const row = (source_bucket: string, object_path: string, backup_timestamp: string) => ({
  source_bucket,
  object_path,
  backup_file: `b_${backup_timestamp}.tar.zst`,
  archive_key: `k/${backup_timestamp}`,
  source_prefix: '',
  backup_timestamp,
  backup_region: 'eu-central-1',
  target_buckets: ['bk'],
});

describe('Function: latestVersions', () => {
  it('keeps the same key under two source buckets as two objects, newest version of each', () => {
    // Prepare
    const rows = [row('src-a', 'report.pdf', '2025-01-01T00:00:00Z'), row('src-b', 'report.pdf', '2025-01-02T00:00:00Z'), row('src-a', 'report.pdf', '2025-01-03T00:00:00Z')];
    // Act
    const latest = latestVersions(rows);
    // Assess
    expect(latest.map((r) => [r.source_bucket, r.backup_timestamp]).sort()).toEqual([
      ['src-a', '2025-01-03T00:00:00Z'],
      ['src-b', '2025-01-02T00:00:00Z'],
    ]);
    expect(RESTORE_COLUMNS).toContain('source_bucket');
  });
});
