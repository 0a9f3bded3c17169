/** The Replicator contract against LocalReplicator (the embedded default). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalReplicator } from '../../shared/replication';
import { LocalObjectStore } from '../../shared/storage';
import { batchRecordKey } from '../../shared/topology';
import { contractTopology, replicatorContract, type ReplicatorHarness } from './replicator.contract';

describe('Class: LocalReplicator', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  const harness = async (): Promise<ReplicatorHarness> => {
    const dir = mkdtempSync(join(tmpdir(), 'xregion-replicator-'));
    dirs.push(dir);
    const topology = contractTopology();
    const stores = new Map<string, LocalObjectStore>();
    const store = (region: string) => {
      let s = stores.get(region);
      if (!s) stores.set(region, (s = new LocalObjectStore({ root: join(dir, region), region })));
      return s;
    };
    for (const r of topology.regions) {
      if (r.outbox) await store(r.region).ensureBucket(r.outbox);
      if (r.router) await store(r.region).ensureBucket(r.router.staging);
    }
    return {
      topology,
      replicator: new LocalReplicator(topology, store),
      put: (region, bucket, key, body, metadata) => store(region).put(bucket, key, body, { metadata }),
      keys: async (region, bucket) => {
        const out: string[] = [];
        for await (const o of store(region).list(bucket)) out.push(o.key);
        return out.sort();
      },
      head: async (region, bucket, key) => {
        const { info, body } = await store(region).get(bucket, key);
        return { etag: info.etag, metadata: info.metadata, body: Buffer.concat(await body.toArray()) };
      },
    };
  };

  replicatorContract(harness);

  it('leaves an archive in the outbox until its batch record commits it (a redelivery must find it there), then moves it', async () => {
    // Prepare: uploaded, its compressor died before the record.
    const h = await harness();
    const outbox = h.topology.regions.find((r) => r.region === 'us-west-2')!.outbox!;
    const staging = h.topology.regions.find((r) => r.region === 'eu-central-1')!.router!.staging;
    const key = 'west-src/a/backup_1_abababab.tar.zst';
    await h.put('us-west-2', outbox, key, Buffer.from('uncommitted'));
    // Act
    const before = await h.replicator.replicatePending();
    await h.put('us-west-2', outbox, batchRecordKey(key), Buffer.from('{}'));
    const after = await h.replicator.replicatePending();
    // Assess
    expect([before, after]).toEqual([0, 1]);
    expect(await h.keys('eu-central-1', staging)).toEqual([key]);
    expect(await h.keys('us-west-2', outbox)).toEqual([batchRecordKey(key)]);
  });
});
