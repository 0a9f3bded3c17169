/** The ObjectStore contract against S3 on moto (over HTTP), plus S3-only checks. */
import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { ChecksumMismatchError, createObjectStore, S3RangeReader, type S3ObjectStore } from '../../shared/storage';
import { patternBytes, patternStream, sha256Hex } from '../helpers/bytes';
import { uniqueName, useMoto } from '../helpers/moto';
import { objectStoreContract, type ObjectStoreHarness } from './objectStore.contract';

const MiB = 1024 * 1024;

describe('Class: S3ObjectStore (moto)', () => {
  const moto = useMoto();
  let harness: ObjectStoreHarness;
  let store: S3ObjectStore;

  beforeAll(() => {
    store = createObjectStore({
      kind: 's3',
      ...moto().connection(),
      multipartThreshold: 5 * MiB,
      copyMultipartThreshold: 5 * MiB,
      copyPartSize: 5 * MiB,
      listPageSize: 3,
    });
    harness = {
      store,
      newBucket: () => moto().createBucket(uniqueName('b')),
      multipartThreshold: 5 * MiB,
      keepsOldVersions: true,
      listPageSize: 3,
      singlePartEtagIsMd5: true,
    };
  });
  afterAll(() => store.client.destroy());

  objectStoreContract(() => harness);

  describe('Method: put (S3 specifics)', () => {
    it('aborts the multipart upload on a sha256 mismatch: no parts are left behind', async () => {
      // Prepare
      const bucket = await moto().createBucket(uniqueName('mpu'));
      // Act
      const act = store.put(bucket, 'x', patternStream(3, 11 * MiB), { sha256: sha256Hex('wrong') });
      // Assess
      await expect(act).rejects.toBeInstanceOf(ChecksumMismatchError);
      const uploads = await store.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      expect(uploads.Uploads ?? []).toEqual([]);
    });

    it('does not record sha256 in metadata for a multipart stream put without one (documented exception)', async () => {
      const bucket = await moto().createBucket(uniqueName('nosha'));
      const put = await store.put(bucket, 'x', patternStream(4, 6 * MiB));
      const head = await store.head(bucket, 'x');
      expect(put.sha256).toHaveLength(64);
      expect(head.sha256).toBeUndefined();
      expect(head.etag).toMatch(/-2$/);
    });
  });

  describe('Option: kmsKeyId', () => {
    it('asks for SSE-KMS with the given key on put and copy, and for nothing without one', async () => {
      // Prepare
      const bucket = await moto().createBucket(uniqueName('kms'));
      const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000';
      // Act
      await store.put(bucket, 'enc', Buffer.from('secret'), { kmsKeyId: keyArn });
      await store.copy({ bucket, key: 'enc' }, { bucket, key: 'enc-copy' }, { kmsKeyId: keyArn });
      await store.put(bucket, 'plain', Buffer.from('public'));
      const heads = await Promise.all(['enc', 'enc-copy', 'plain'].map((Key) => store.client.send(new HeadObjectCommand({ Bucket: bucket, Key }))));
      // Assess
      expect(heads.map((x) => [x.ServerSideEncryption, x.SSEKMSKeyId])).toEqual([
        ['aws:kms', keyArn],
        ['aws:kms', keyArn],
        [undefined, undefined],
      ]);
    });
  });

  describe('Class: S3RangeReader', () => {
    it('reads ranges pinned to the ETag it first saw, failing loudly once the object changes', async () => {
      // Prepare
      const bucket = await moto().createBucket(uniqueName('rr'));
      await store.put(bucket, 'arch', patternBytes(5, 0, 1000));
      const reader = new S3RangeReader(store, bucket, 'arch');
      // Act
      const size = await reader.size();
      const mid = await reader.read(100, 50);
      await store.put(bucket, 'arch', Buffer.from('changed'));
      // Assess
      expect(size).toBe(1000);
      expect(mid.equals(patternBytes(5, 100, 50))).toBe(true);
      await expect(reader.read(0, 10)).rejects.toMatchObject({ name: 'PreconditionFailedError' });
    });

    it('reads an old version when pinned to its versionId', async () => {
      const bucket = await moto().createBucket(uniqueName('rv'));
      const v1 = await store.put(bucket, 'arch', Buffer.from('first version'));
      await store.put(bucket, 'arch', Buffer.from('second'));
      const reader = new S3RangeReader(store, bucket, 'arch', { versionId: v1.versionId });
      expect(await reader.size()).toBe(13);
      expect((await reader.read(6, 100)).toString()).toBe('version');
    });
  });
});
