/**
 * The Replicator port's contract (shared/replication/port.ts), run against each adapter with the
 * same bidirectional topology: us-west-2 → eu-central-1 and eu-central-1 → us-west-2, plus a
 * second rule on one bucket fanning out to two regions.
 */
import { parseConfig, type Config } from '../../shared/config';
import type { Replicator } from '../../shared/replication';
import { batchRecordKey, buildTopology, type Topology } from '../../shared/topology';

export const CONTRACT_CONFIG: Config = parseConfig({
  stack_name: 'rc',
  replication_configuration: [
    { source: { region: 'us-west-2', bucket: 'west-src', prefix_filter: 'a/' }, destinations: [{ region: 'eu-central-1', bucket: 'eu-copy', backup: true }] },
    { source: { region: 'eu-central-1', bucket: 'eu-src', prefix_filter: 'b/' }, destinations: [{ region: 'us-west-2', bucket: 'west-copy' }] },
    {
      source: { region: 'us-west-2', bucket: 'west-src', prefix_filter: 'c/' },
      destinations: [
        { region: 'eu-central-1', bucket: 'eu-c' },
        { region: 'ca-central-1', bucket: 'ca-c' },
      ],
    },
  ],
}).config;

export interface ReplicatorHarness {
  topology: Topology;
  replicator: Replicator;
  put(region: string, bucket: string, key: string, body: Buffer, metadata?: Record<string, string>): Promise<{ etag: string }>;
  /** Keys in a bucket. */
  keys(region: string, bucket: string): Promise<string[]>;
  head(region: string, bucket: string, key: string): Promise<{ etag: string; metadata: Record<string, string>; body: Buffer }>;
}

/** The contract suite; `make` gives a fresh harness per test. */
export function replicatorContract(make: () => Promise<ReplicatorHarness>): void {
  const outbox = (t: Topology, region: string) => t.regions.find((r) => r.region === region)!.outbox!;
  /** An archive as the compressor leaves it: uploaded, then committed by its batch record. */
  const putArchive = async (h: ReplicatorHarness, region: string, key: string, body: Buffer, metadata?: Record<string, string>) => {
    const put = await h.put(region, outbox(h.topology, region), key, body, metadata);
    await h.put(region, outbox(h.topology, region), batchRecordKey(key), Buffer.from('{}'));
    return put;
  };
  const staging = (t: Topology, region: string) => t.regions.find((r) => r.region === region)!.router!.staging;

  it('copies an archive to the staging bucket of every region its rule targets, bytes, ETag and metadata intact, and nowhere else', async () => {
    const h = await make();
    const t = h.topology;
    const key = 'west-src/c/backup_1_aaaaaaaa.tar.zst';
    const { etag } = await putArchive(h, 'us-west-2', key, Buffer.from('archive c'), { 'xregion-format': 'xregion-archive/1' });
    expect(await h.replicator.replicatePending()).toBe(1);
    for (const region of ['eu-central-1', 'ca-central-1']) {
      const got = await h.head(region, staging(t, region), key);
      expect(got.body.toString()).toBe('archive c');
      expect(got.etag).toBe(etag);
      expect(got.metadata['xregion-format']).toBe('xregion-archive/1');
    }
    expect(await h.keys('us-west-2', staging(t, 'us-west-2'))).toEqual([]);
  });

  it('in a region that is both a source and a target, delivers both directions and never replicates an inbound archive again', async () => {
    const h = await make();
    const t = h.topology;
    const west = 'west-src/a/backup_1_bbbbbbbb.tar.zst';
    const east = 'eu-src/b/backup_2_cccccccc.tar.zst';
    await putArchive(h, 'us-west-2', west, Buffer.from('west → eu'));
    await putArchive(h, 'eu-central-1', east, Buffer.from('eu → west'));
    expect(await h.replicator.replicatePending()).toBe(2);
    // A second pass finds nothing: the inbound copies are not sources.
    expect(await h.replicator.replicatePending()).toBe(0);
    expect(await h.keys('eu-central-1', staging(t, 'eu-central-1'))).toEqual([west]);
    expect(await h.keys('us-west-2', staging(t, 'us-west-2'))).toEqual([east]);
  });

  it("leaves xregion's own records and keys outside every rule where they are", async () => {
    const h = await make();
    const t = h.topology;
    await h.put('us-west-2', outbox(t, 'us-west-2'), '_xregion/batches/west-src/a/backup_1_dddddddd.tar.zst.json', Buffer.from('{}'));
    await putArchive(h, 'us-west-2', 'other-bucket/backup_1_eeeeeeee.tar.zst', Buffer.from('stray'));
    expect(await h.replicator.replicatePending()).toBe(0);
    for (const region of ['eu-central-1', 'ca-central-1']) expect(await h.keys(region, staging(t, region))).toEqual([]);
  });
}

/** The contract config's topology (account 'local' unless given). */
export function contractTopology(account = 'local'): Topology {
  return buildTopology(CONTRACT_CONFIG, account);
}
