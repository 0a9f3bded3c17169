/** The Replicator contract against LocalReplicator (the embedded default). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalReplicator } from '../../shared/replication';
import { LocalObjectStore } from '../../shared/storage';
import { contractTopology, replicatorContract } from './replicator.contract';

describe('Class: LocalReplicator', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  replicatorContract(async () => {
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
  });
});
