/**
 * `xregion reconcile --endpoint` against moto over HTTP: a local pipeline's output is uploaded
 * to moto buckets named as the topology names them for an account; the source objects are put
 * as a user would (no `xregion-sha256`), one of them as a multipart upload, so the fast mode
 * compares ETags and, where those cannot agree, sizes; `--deep` hashes the sources.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3ObjectStore } from '../../shared/storage';
import { catalogBucketName } from '../../shared/topology';
import { readAll } from '../helpers/bytes';
import { FAKE_CREDENTIALS, useMoto } from '../helpers/moto';
import { BACKUP, NORMAL, OBJECTS, PREFIX, SOURCE, cli, pipeline, type Pipeline } from './helpers';

const moto = useMoto();
const ACCOUNT = '123456789012';
const BIG = `${PREFIX}big/multipart.bin`;
const MiB = 1024 * 1024;
let p: Pipeline;
let s3: S3ObjectStore;

async function copyBucket(from: Pipeline['source'], bucket: string, to: string): Promise<void> {
  for await (const o of from.list(bucket)) {
    const { body, info } = await from.get(bucket, o.key);
    await s3.put(to, o.key, await readAll(body), { contentType: info.contentType ?? 'application/octet-stream', metadata: info.metadata });
  }
}

beforeAll(async () => {
  p = await pipeline();
  const server = moto();
  await server.reset();
  s3 = server.s3Store({ multipartThreshold: 5 * MiB });
  const catalog = catalogBucketName('xrtest', ACCOUNT, BACKUP.region);
  for (const b of [SOURCE.bucket, NORMAL.bucket, BACKUP.bucket, catalog]) await server.createBucket(b, { versioned: false });
  // Sources as a user puts them: plain PUTs, no xregion-sha256; one multipart upload (its ETag is not an MD5).
  const client = server.s3Client();
  for await (const o of p.source.list(SOURCE.bucket)) {
    const { body } = await p.source.get(SOURCE.bucket, o.key);
    await client.send(new PutObjectCommand({ Bucket: SOURCE.bucket, Key: o.key, Body: await readAll(body) }));
  }
  const big = Buffer.alloc(6 * MiB, 3);
  await s3.put(SOURCE.bucket, BIG, big); // above the threshold, no sha256: multipart, nothing recorded
  await copyBucket(p.normal, NORMAL.bucket, NORMAL.bucket);
  await s3.put(NORMAL.bucket, BIG, big, { sha256: createHash('sha256').update(big).digest('hex'), multipartThreshold: 16 * MiB });
  await copyBucket(p.backup, BACKUP.bucket, BACKUP.bucket);
  await copyBucket(p.backup, p.catalogBucket, catalog);
  process.env.AWS_ACCESS_KEY_ID = FAKE_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = FAKE_CREDENTIALS.secretAccessKey;
}, 120_000);
afterAll(() => p?.cleanup());

const run = (extra: string[]) => cli(['-c', p.configFile, '--endpoint', moto().endpoint, '--account', ACCOUNT, '--json', '--settled-before', new Date(Date.now() + 60_000).toISOString(), ...extra]);
const of = (report: { destinations: { destination: { bucket: string } }[] }, bucket: string) => report.destinations.find((d) => d.destination.bucket === bucket) as any;

describe('Command: xregion reconcile --endpoint (S3 on moto)', () => {
  it('fast mode: backups matched by the ETag the manifests recorded; the multipart source compared by size only', async () => {
    const r = await run([]);
    const report = JSON.parse(r.stdout);
    const normal = of(report, NORMAL.bucket);
    const backup = of(report, BACKUP.bucket);
    expect(normal).toMatchObject({ sourceObjects: OBJECTS.length + 1, counts: { ok: OBJECTS.length + 1, missing: 0, different: 0 }, sizeOnly: 1 });
    // The backups were made before BIG existed: it is missing there, everything else is ok.
    expect(backup).toMatchObject({ counts: { ok: OBJECTS.length, missing: 1, duplicated: 0 }, archives: 3, catalogRows: OBJECTS.length });
    expect(backup.samples.missing).toEqual([{ key: BIG, detail: `in no archive in s3://${BACKUP.bucket}` }]);
    // No outbox or staging bucket was created here: said, not hidden.
    expect(normal.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^outbox s3:\/\/xrtest-123456789012-us-west-2-outbox does not exist/), expect.stringMatching(/^staging bucket s3:\/\/xrtest-123456789012-ca-central-1-staging does not exist/)]));
    expect(r.code).toBe(1);
  });

  it('--deep hashes the sources: what the fast mode could only size-compare is proven, and a same-size edit is found', async () => {
    // Prepare: same size, other bytes at the normal destination (its ETag differs; the source has no sha256).
    const edited = OBJECTS.find((o) => o.key.endsWith('file-5.json'))!;
    await s3.put(NORMAL.bucket, edited.key, Buffer.alloc(edited.size, 1));
    // Act
    const fast = of(JSON.parse((await run(['--rule', 'src-bucket/data/'])).stdout), NORMAL.bucket);
    const deep = of(JSON.parse((await run(['--deep'])).stdout), NORMAL.bucket);
    // Assess
    expect(fast).toMatchObject({ counts: { different: 0 }, sizeOnly: 2 });
    expect(deep).toMatchObject({ counts: { ok: OBJECTS.length, different: 1 }, sizeOnly: 0 });
    expect(deep.samples.different).toEqual([{ key: edited.key, detail: expect.stringMatching(/^sha256 [0-9a-f]{12}… at the source, [0-9a-f]{12}… at the destination$/) }]);
  });
});
