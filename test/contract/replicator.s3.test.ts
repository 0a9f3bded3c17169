/**
 * The Replicator contract on the AWS side. There S3 Cross-Region Replication does the work and no
 * code of ours runs, so what is under test is the replication configuration the source stacks
 * synthesize: this harness reads each bucket's ReplicationConfiguration from the templates and
 * carries it out on moto as S3 would (every new object version under a rule's prefix is copied
 * once to the rule's destination bucket; buckets without a configuration replicate nothing).
 */
import type { ObjectStore } from '../../shared/storage';
import type { Replicator } from '../../shared/replication';
import { useMoto } from '../helpers/moto';
import { ACCOUNT, synthConfig } from '../stacks/synthVariant';
import { CONTRACT_CONFIG, contractTopology, replicatorContract } from './replicator.contract';

interface BucketReplication {
  bucket: string;
  rules: { prefix: string; destination: string }[];
}

/** Every bucket's replication rules as the synthesized source stacks configure them. */
function synthesizedReplication(): BucketReplication[] {
  const variant = synthConfig(CONTRACT_CONFIG);
  const out: BucketReplication[] = [];
  for (const stack of [...variant.sourceStacks, ...variant.targetStacks]) {
    const buckets = variant.template(stack).findResources('AWS::S3::Bucket') as Record<string, { Properties: { BucketName?: string; ReplicationConfiguration?: { Rules: { Status: string; Filter: { Prefix: string }; Destination: { Bucket: string } }[] } } }>;
    for (const b of Object.values(buckets)) {
      const rc = b.Properties.ReplicationConfiguration;
      if (!rc) continue;
      out.push({
        bucket: b.Properties.BucketName!,
        rules: rc.Rules.filter((r) => r.Status === 'Enabled').map((r) => ({ prefix: r.Filter.Prefix, destination: r.Destination.Bucket.replace(/^arn:aws:s3:::/, '') })),
      });
    }
  }
  return out;
}

/** S3 replication carried out by the synthesized rules: each object version once, to each matching rule's bucket. */
class TemplateReplicator implements Replicator {
  private readonly done = new Set<string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly config: BucketReplication[],
  ) {}

  async replicatePending(): Promise<number> {
    let n = 0;
    for (const { bucket, rules } of this.config) {
      for await (const o of this.store.list(bucket)) {
        const id = `${bucket}\u0000${o.key}\u0000${o.etag}`;
        const matching = rules.filter((r) => o.key.startsWith(r.prefix));
        if (this.done.has(id) || matching.length === 0) continue;
        for (const r of matching) await this.store.copy({ bucket, key: o.key }, { bucket: r.destination, key: o.key });
        this.done.add(id);
        n++;
      }
    }
    return n;
  }
}

describe('S3 replication as the source stacks configure it (Replicator contract)', () => {
  const moto = useMoto();
  const replication = synthesizedReplication();

  it('configures replication on the outboxes only', () => {
    const topology = contractTopology(ACCOUNT);
    expect(replication.map((r) => r.bucket).sort()).toEqual(topology.regions.flatMap((r) => (r.outbox ? [r.outbox] : [])).sort());
  });

  replicatorContract(async () => {
    const server = moto();
    await server.reset();
    const topology = contractTopology(ACCOUNT);
    for (const r of topology.regions) {
      if (r.outbox) await server.createBucket(r.outbox);
      if (r.router) await server.createBucket(r.router.staging);
    }
    const store = server.s3Store();
    return {
      topology,
      replicator: new TemplateReplicator(store, replication),
      put: (_region, bucket, key, body, metadata) => store.put(bucket, key, body, { metadata }),
      keys: async (_region, bucket) => {
        const out: string[] = [];
        for await (const o of store.list(bucket)) out.push(o.key);
        return out.sort();
      },
      head: async (_region, bucket, key) => {
        const { info, body } = await store.get(bucket, key);
        return { etag: info.etag, metadata: info.metadata, body: Buffer.concat(await body.toArray()) };
      },
    };
  });
});
