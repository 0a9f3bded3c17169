/** The outbox-age check's handler logic (stacks/functions/outbox-age), on a fake S3 client. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const handler = require('../../stacks/functions/outbox-age/index.js') as {
  check(s3: { send(c: unknown): Promise<unknown> }, commands: Record<string, new (input: never) => unknown>, opts: { bucket: string; prefixes: string[]; minAgeHours: number; now: number }): Promise<{ checked: number; unreplicated: { key: string; status: string; ageHours: number }[] }>;
  emf(bucket: string, result: { checked: number; unreplicated: unknown[] }, now: number): string;
};

const HOUR = 3600_000;
const NOW = Date.UTC(2026, 11, 3, 12);

class ListObjectsV2Command { constructor(readonly input: { Prefix: string; ContinuationToken?: string }) {} }
class HeadObjectCommand { constructor(readonly input: { Key: string }) {} }

/** A fake outbox: two pages under one prefix; each object's age and replication status. */
function fakeS3(objects: Record<string, { ageHours: number; status?: string }>) {
  const sent: string[] = [];
  const keys = Object.keys(objects);
  return {
    sent,
    send: async (c: unknown) => {
      if (c instanceof ListObjectsV2Command) {
        sent.push(`LIST ${c.input.Prefix} ${c.input.ContinuationToken ?? ''}`.trim());
        const mine = keys.filter((k) => k.startsWith(c.input.Prefix));
        const page = c.input.ContinuationToken ? mine.slice(2) : mine.slice(0, 2);
        return { Contents: page.map((Key) => ({ Key, LastModified: new Date(NOW - objects[Key].ageHours * HOUR) })), IsTruncated: !c.input.ContinuationToken && mine.length > 2, NextContinuationToken: 't2' };
      }
      if (c instanceof HeadObjectCommand) {
        sent.push(`HEAD ${c.input.Key}`);
        return { ReplicationStatus: objects[c.input.Key].status };
      }
      throw new Error('unexpected command');
    },
  };
}

describe('Function: outbox-age check', () => {
  it('HEADs only archives older than the threshold and reports those not COMPLETED (pending, failed, never covered)', async () => {
    // Prepare
    const s3 = fakeS3({
      'b/p/backup_1.tar.zst': { ageHours: 30, status: 'COMPLETED' },
      'b/p/backup_2.tar.zst': { ageHours: 1, status: 'PENDING' },
      'b/p/backup_3.tar.zst': { ageHours: 7, status: 'PENDING' },
      'b/p/backup_4.tar.zst': { ageHours: 8, status: 'FAILED' },
      'b/p/notes.json': { ageHours: 99 },
      'c/backup_5.tar.zst': { ageHours: 50 },
    });
    // Act
    const result = await handler.check(s3, { ListObjectsV2Command, HeadObjectCommand }, { bucket: 'outbox', prefixes: ['b/p/', 'c/'], minAgeHours: 6, now: NOW });
    // Assess
    expect(result.checked).toBe(4);
    expect(result.unreplicated).toEqual([
      { key: 'b/p/backup_3.tar.zst', status: 'PENDING', ageHours: 7 },
      { key: 'b/p/backup_4.tar.zst', status: 'FAILED', ageHours: 8 },
      { key: 'c/backup_5.tar.zst', status: 'NONE', ageHours: 50 },
    ]);
    expect(s3.sent.filter((s) => s.startsWith('LIST'))).toEqual(['LIST b/p/', 'LIST b/p/ t2', 'LIST c/']);
    expect(s3.sent).not.toContain('HEAD b/p/backup_2.tar.zst');
  });

  it('emits the count as an EMF metric in namespace xregion with the service and bucket dimensions', () => {
    const line = JSON.parse(handler.emf('outbox', { checked: 4, unreplicated: [{ key: 'k' }] }, NOW));
    expect(line._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'xregion', Dimensions: [['service', 'bucket']], Metrics: [{ Name: 'OutboxArchivesUnreplicated', Unit: 'Count' }, { Name: 'OutboxArchivesChecked', Unit: 'Count' }] },
    ]);
    expect(line).toMatchObject({ service: 'outbox-check', bucket: 'outbox', OutboxArchivesUnreplicated: 1, OutboxArchivesChecked: 4 });
  });
});
