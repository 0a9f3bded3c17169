/**
 * The ObjectStore contract suite: every adapter runs exactly these tests (restic's
 * backend/test/suite.go). Call `objectStoreContract(getHarness)` inside a describe block; the
 * getter is called inside tests, after the adapter's beforeAll has started what it needs.
 */
import { Readable } from 'node:stream';
import {
  UnsupportedOptionError,
  ChecksumMismatchError,
  NoSuchBucketError,
  NoSuchObjectError,
  PreconditionFailedError,
  SHA256_METADATA_KEY,
  SizeMismatchError,
  type ObjectStore,
} from '../../shared/storage';
import { failingStream, hashStream, md5Hex, patternSha256, patternStream, readAll, sha256Hex } from '../helpers/bytes';

export interface ObjectStoreHarness {
  store: ObjectStore;
  /** A fresh, empty bucket (versioned where the adapter has versions). */
  newBucket(): Promise<string>;
  /** The adapter's multipart threshold as configured for the test (>= 5 MiB). */
  multipartThreshold: number;
  /** S3 versioned buckets keep old versions readable; the local adapter keeps only the current. */
  keepsOldVersions: boolean;
  /** The adapter's list page size was set this small, so a handful of keys crosses pages. */
  listPageSize: number;
  /** ETag of a single-part object is its md5 (S3, local); Azure's ETags are opaque (false). */
  singlePartEtagIsMd5: boolean;
  /**
   * Puts return version ids and reads honour them (default true). False (Azure without blob
   * versioning, Azurite): puts return none and every versionId option is refused with
   * UnsupportedOptionError instead of being ignored.
   */
  versionIds?: boolean;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const TRICKY_KEYS = ['dir/with space.txt', 'plus+sign.txt', 'percent%41lit.txt', 'ünïcødé/文件 ☃.txt', 'amp&eq=q?.txt', "quote'paren(1).txt"];

export function objectStoreContract(h: () => ObjectStoreHarness): void {
  describe('Method: put / get / head', () => {
    it('round-trips bytes, content type, metadata, tags, storage class and sha256', async () => {
      // Prepare
      const { store, newBucket } = h();
      const bucket = await newBucket();
      const data = Buffer.from('hello, world\n');
      // Act
      const put = await store.put(bucket, 'docs/hello.txt', data, {
        contentType: 'text/plain',
        metadata: { 'Drive-File-Id': 'abc123', owner: 'a@acme.com' },
        tags: { project: 'x region', team: 'a+b' },
        storageClass: 'STANDARD_IA',
      });
      const head = await store.head(bucket, 'docs/hello.txt', { withTags: true });
      const got = await store.get(bucket, 'docs/hello.txt');
      const body = await readAll(got.body);
      // Assess
      expect(put).toMatchObject({ size: data.length, sha256: sha256Hex(data) });
      expect(put.etag).toEqual(h().singlePartEtagIsMd5 ? md5Hex(data) : expect.stringMatching(/^[^"]+$/));
      expect(put.etag).not.toContain('"');
      expect(body.equals(data)).toBe(true);
      expect(head).toMatchObject({
        bucket,
        key: 'docs/hello.txt',
        size: data.length,
        etag: put.etag,
        contentType: 'text/plain',
        storageClass: 'STANDARD_IA',
        sha256: sha256Hex(data),
        tags: { project: 'x region', team: 'a+b' },
      });
      expect(head.metadata).toEqual({ 'drive-file-id': 'abc123', owner: 'a@acme.com', [SHA256_METADATA_KEY]: sha256Hex(data) });
      expect(head.lastModified).toBeInstanceOf(Date);
      expect(got.info).toMatchObject({ size: data.length, etag: put.etag, versionId: put.versionId, contentType: 'text/plain' });
    });

    it('leaves tags out of head unless asked, and reports STANDARD by default', async () => {
      const { store, newBucket } = h();
      const bucket = await newBucket();
      await store.put(bucket, 'k', Buffer.from('x'), { tags: { a: '1' } });
      const head = await store.head(bucket, 'k');
      expect(head.tags).toBeUndefined();
      expect(head.storageClass).toBe('STANDARD');
    });

    it.each(TRICKY_KEYS)('stores, reads and lists the key %j', async (key) => {
      const { store, newBucket } = h();
      const bucket = await newBucket();
      const data = Buffer.from(`content of ${key}`);
      await store.put(bucket, key, Readable.from([data]));
      expect((await readAll((await store.get(bucket, key)).body)).equals(data)).toBe(true);
      expect((await store.head(bucket, key)).size).toBe(data.length);
      expect((await collect(store.list(bucket))).map((o) => o.key)).toEqual([key]);
    });

    it('stores an empty object', async () => {
      const { store, newBucket } = h();
      const bucket = await newBucket();
      const put = await store.put(bucket, 'empty', Buffer.alloc(0), { sha256: sha256Hex('') });
      const got = await store.get(bucket, 'empty');
      expect(put).toMatchObject({ size: 0, sha256: sha256Hex('') });
      if (h().singlePartEtagIsMd5) expect(put.etag).toBe(md5Hex(''));
      expect((await readAll(got.body)).length).toBe(0);
      expect(got.info.size).toBe(0);
    });

    it('streams an object above the multipart threshold, verified and with sha256 recorded', async () => {
      // Prepare
      const { store, newBucket, multipartThreshold } = h();
      const bucket = await newBucket();
      const size = multipartThreshold * 2 + 123_457;
      const sha = patternSha256(7, size);
      // Act
      const put = await store.put(bucket, 'big.bin', patternStream(7, size, 64 * 1024), { sha256: sha, size, multipartThreshold, contentType: 'application/x-test', metadata: { m: 'v' } });
      const got = await store.get(bucket, 'big.bin');
      const read = await hashStream(got.body);
      // Assess
      expect(put).toMatchObject({ size, sha256: sha });
      expect(read).toEqual({ sha256: sha, size });
      expect(got.info).toMatchObject({ size, contentType: 'application/x-test', sha256: sha, metadata: { m: 'v', [SHA256_METADATA_KEY]: sha } });
    });

    it('computes the sha256 of a multipart stream put without one', async () => {
      const { store, newBucket, multipartThreshold } = h();
      const bucket = await newBucket();
      const size = multipartThreshold + 1000;
      const put = await store.put(bucket, 'big2.bin', patternStream(8, size), { multipartThreshold });
      expect(put).toMatchObject({ size, sha256: patternSha256(8, size) });
    });

    it('refuses a single-part put whose sha256 does not match; nothing becomes visible', async () => {
      const { store, newBucket } = h();
      const bucket = await newBucket();
      const act = store.put(bucket, 'bad', Readable.from([Buffer.from('actual bytes')]), { sha256: sha256Hex('other bytes') });
      await expect(act).rejects.toBeInstanceOf(ChecksumMismatchError);
      await expect(store.head(bucket, 'bad')).rejects.toBeInstanceOf(NoSuchObjectError);
      expect(await collect(store.list(bucket))).toEqual([]);
    });

    it('refuses a multipart put whose sha256 does not match; nothing becomes visible, an older version stays', async () => {
      // Prepare
      const { store, newBucket, multipartThreshold } = h();
      const bucket = await newBucket();
      const old = await store.put(bucket, 'big-bad.bin', Buffer.from('previous version'));
      const size = multipartThreshold * 2 + 10;
      // Act
      const act = store.put(bucket, 'big-bad.bin', patternStream(9, size), { sha256: sha256Hex('nope'), multipartThreshold });
      // Assess
      await expect(act).rejects.toBeInstanceOf(ChecksumMismatchError);
      const head = await store.head(bucket, 'big-bad.bin');
      expect(head).toMatchObject({ size: 16, etag: old.etag, versionId: old.versionId });
      expect((await collect(store.list(bucket))).map((o) => o.key)).toEqual(['big-bad.bin']);
    });

    it('verifies a caller-supplied xregion-sha256 metadata value like sha256', async () => {
      const { store, newBucket, multipartThreshold } = h();
      const bucket = await newBucket();
      const stale = { metadata: { [SHA256_METADATA_KEY.toUpperCase()]: sha256Hex('an older version') } };
      await expect(store.put(bucket, 'small', Buffer.from('new'), stale)).rejects.toBeInstanceOf(ChecksumMismatchError);
      await expect(store.put(bucket, 'big', patternStream(5, multipartThreshold + 1), { ...stale, multipartThreshold })).rejects.toBeInstanceOf(ChecksumMismatchError);
      const ok = await store.put(bucket, 'small', Buffer.from('new'), { metadata: { [SHA256_METADATA_KEY]: sha256Hex('new') } });
      expect(ok.sha256).toBe(sha256Hex('new'));
      await expect(store.head(bucket, 'big')).rejects.toBeInstanceOf(NoSuchObjectError);
    });

    it('refuses a put whose byte count differs from the declared size', async () => {
      const { store, newBucket } = h();
      const bucket = await newBucket();
      await expect(store.put(bucket, 'short', Buffer.from('abc'), { size: 4 })).rejects.toBeInstanceOf(SizeMismatchError);
      await expect(store.head(bucket, 'short')).rejects.toBeInstanceOf(NoSuchObjectError);
    });

    it('commits nothing when the body stream fails', async () => {
      const { store, newBucket, multipartThreshold } = h();
      const bucket = await newBucket();
      const act = store.put(bucket, 'dies', failingStream(Buffer.alloc(multipartThreshold + 10, 1)), { multipartThreshold });
      await expect(act).rejects.toThrow();
      await expect(store.head(bucket, 'dies')).rejects.toBeInstanceOf(NoSuchObjectError);
    });

    it('answers NoSuchObjectError for a missing key and NoSuchBucketError for a missing bucket', async () => {
      const { store, newBucket } = h();
      const bucket = await newBucket();
      await expect(store.head(bucket, 'missing')).rejects.toBeInstanceOf(NoSuchObjectError);
      await expect(store.get(bucket, 'missing')).rejects.toBeInstanceOf(NoSuchObjectError);
      await expect(store.getRange(bucket, 'missing', 0, 10)).rejects.toBeInstanceOf(NoSuchObjectError);
      await expect(store.put('no-such-bucket-xyz', 'k', Buffer.from('x'))).rejects.toBeInstanceOf(NoSuchBucketError);
      await expect(collect(store.list('no-such-bucket-xyz'))).rejects.toBeInstanceOf(NoSuchBucketError);
      const err = await store.head(bucket, 'missing').catch((e: unknown) => e);
      expect(err).toMatchObject({ retryable: false, bucket, key: 'missing' });
    });
  });

  describe('Method: getRange', () => {
    it('returns the requested bytes, clamped at the end', async () => {
      const { store, newBucket } = h();
      const bucket = await newBucket();
      const data = Buffer.from('0123456789');
      await store.put(bucket, 'r', data);
      expect((await store.getRange(bucket, 'r', 2, 3)).toString()).toBe('234');
      expect((await store.getRange(bucket, 'r', 8, 100)).toString()).toBe('89');
      expect((await store.getRange(bucket, 'r', 10, 5)).length).toBe(0);
      expect((await store.getRange(bucket, 'r', 0, 0)).length).toBe(0);
    });
  });

  describe('Option: conditional put (ifNoneMatch / ifMatch)', () => {
    it('creates only when absent and replaces only the given ETag; a failed condition writes nothing', async () => {
      // Prepare
      const { store, newBucket } = h();
      const bucket = await newBucket();

      // Act
      const first = await store.put(bucket, 'lease.json', Buffer.from('owner a'), { ifNoneMatch: '*' });
      const taken = store.put(bucket, 'lease.json', Buffer.from('owner b'), { ifNoneMatch: '*' });
      taken.catch(() => undefined); // asserted below; it may reject while the next put is awaited
      const renewed = await store.put(bucket, 'lease.json', Buffer.from('owner a, renewed'), { ifMatch: first.etag });
      const stale = store.put(bucket, 'lease.json', Buffer.from('owner c'), { ifMatch: `"${first.etag}"` });
      const absent = store.put(bucket, 'no-such.json', Buffer.from('x'), { ifMatch: first.etag });
      for (const p of [stale, absent]) p.catch(() => undefined);

      // Assess
      await expect(taken).rejects.toBeInstanceOf(PreconditionFailedError);
      await expect(stale).rejects.toBeInstanceOf(PreconditionFailedError);
      await expect(absent).rejects.toThrow(); // S3 answers 404 NoSuchKey or 412, both refusals
      expect((await readAll((await store.get(bucket, 'lease.json')).body)).toString()).toBe('owner a, renewed');
      expect((await store.head(bucket, 'lease.json')).etag).toBe(renewed.etag);
      await expect(store.head(bucket, 'no-such.json')).rejects.toBeInstanceOf(NoSuchObjectError);
    });
  });

  describe('Option: ifMatch / versionId', () => {
    it('reads with the current ETag and fails with PreconditionFailedError on a stale one', async () => {
      // Prepare
      const { store, newBucket } = h();
      const bucket = await newBucket();
      const v1 = await store.put(bucket, 'doc', Buffer.from('version one'));
      const v2 = await store.put(bucket, 'doc', Buffer.from('version two!'));
      // Act / Assess
      expect((await store.getRange(bucket, 'doc', 0, 7, { ifMatch: v2.etag })).toString()).toBe('version');
      expect((await store.head(bucket, 'doc', { ifMatch: `"${v2.etag}"` })).etag).toBe(v2.etag);
      await expect(store.get(bucket, 'doc', { ifMatch: v1.etag })).rejects.toBeInstanceOf(PreconditionFailedError);
      await expect(store.getRange(bucket, 'doc', 0, 3, { ifMatch: v1.etag })).rejects.toBeInstanceOf(PreconditionFailedError);
      await expect(store.head(bucket, 'doc', { ifMatch: v1.etag })).rejects.toBeInstanceOf(PreconditionFailedError);
    });

    it('refuses every versionId option with UnsupportedOptionError where the store has no versions', async () => {
      const { store, newBucket, versionIds } = h();
      if (versionIds !== false) return; // the adapter has versions: the next test covers it
      const bucket = await newBucket();
      const put = await store.put(bucket, 'doc', Buffer.from('one'));
      const v = { versionId: 'NoSuchVersionIdXYZ.12345' };
      expect(put.versionId).toBeUndefined();
      for (const act of [
        store.head(bucket, 'doc', v),
        store.get(bucket, 'doc', v),
        store.getRange(bucket, 'doc', 0, 1, v),
        store.copy({ bucket, key: 'doc', ...v }, { bucket, key: 'copy' }),
        store.delete(bucket, 'doc', v),
      ]) {
        await expect(act).rejects.toBeInstanceOf(UnsupportedOptionError);
      }
      expect((await store.head(bucket, 'doc')).versionId).toBeUndefined();
      await expect(store.head(bucket, 'copy')).rejects.toBeInstanceOf(NoSuchObjectError);
    });

    it('reads a given versionId; an overwritten one is kept (S3) or gone (local); an unknown one is NoSuchObjectError', async () => {
      const { store, newBucket, keepsOldVersions, versionIds } = h();
      if (versionIds === false) return; // no versions: the test above covers the refusal
      const bucket = await newBucket();
      const v1 = await store.put(bucket, 'doc', Buffer.from('one'));
      const v2 = await store.put(bucket, 'doc', Buffer.from('two'));
      expect(v1.versionId).toBeDefined();
      expect(v2.versionId).not.toBe(v1.versionId);
      expect((await readAll((await store.get(bucket, 'doc', { versionId: v2.versionId })).body)).toString()).toBe('two');
      const old = store.get(bucket, 'doc', { versionId: v1.versionId });
      if (keepsOldVersions) expect((await readAll((await old).body)).toString()).toBe('one');
      else await expect(old).rejects.toBeInstanceOf(NoSuchObjectError);
      await expect(store.head(bucket, 'doc', { versionId: 'NoSuchVersionIdXYZ.12345' })).rejects.toBeInstanceOf(NoSuchObjectError);
    });
  });

  describe('Method: copy', () => {
    it('copies bytes, content type, metadata and tags server-side, with a new storage class', async () => {
      // Prepare
      const { store, newBucket } = h();
      const src = await newBucket();
      const dst = await newBucket();
      const data = Buffer.from('copy me');
      await store.put(src, 'a/src key.txt', data, { contentType: 'text/plain', metadata: { x: '1' }, tags: { t: 'v' } });
      // Act
      const res = await store.copy({ bucket: src, key: 'a/src key.txt' }, { bucket: dst, key: 'b/dst+key.txt' }, { storageClass: 'STANDARD_IA' });
      // Assess
      const head = await store.head(dst, 'b/dst+key.txt', { withTags: true });
      expect(res).toMatchObject({ size: data.length, sha256: sha256Hex(data) });
      expect(res.etag).toBe(head.etag);
      expect(head).toMatchObject({ contentType: 'text/plain', storageClass: 'STANDARD_IA', tags: { t: 'v' }, sha256: sha256Hex(data) });
      expect(head.metadata).toEqual({ x: '1', [SHA256_METADATA_KEY]: sha256Hex(data) });
      expect((await readAll((await store.get(dst, 'b/dst+key.txt')).body)).equals(data)).toBe(true);
    });

    it('replaces content type, metadata and tags when asked, keeping the sha256', async () => {
      const { store, newBucket } = h();
      const bucket = await newBucket();
      const data = Buffer.from('replace me');
      await store.put(bucket, 's', data, { contentType: 'text/plain', metadata: { old: '1' }, tags: { old: '1' } });
      await store.copy({ bucket, key: 's' }, { bucket, key: 'd' }, { replaceMetadata: true, contentType: 'application/json', metadata: { new: '2' }, tags: { new: '2' } });
      const head = await store.head(bucket, 'd', { withTags: true });
      expect(head).toMatchObject({ contentType: 'application/json', tags: { new: '2' } });
      expect(head.metadata).toEqual({ new: '2', [SHA256_METADATA_KEY]: sha256Hex(data) });
    });

    it('copies a given source version and fails with NoSuchObjectError for a missing source', async () => {
      const { store, newBucket } = h();
      const bucket = await newBucket();
      const v = await store.put(bucket, 's', Buffer.from('current'));
      await store.copy({ bucket, key: 's', versionId: v.versionId }, { bucket, key: 'd' });
      expect((await readAll((await store.get(bucket, 'd')).body)).toString()).toBe('current');
      await expect(store.copy({ bucket, key: 'missing' }, { bucket, key: 'd2' })).rejects.toBeInstanceOf(NoSuchObjectError);
    });

    it('copies an object above the copy part size (multipart copy where the adapter has one)', async () => {
      const { store, newBucket, multipartThreshold } = h();
      const bucket = await newBucket();
      const size = multipartThreshold + 4321;
      const sha = patternSha256(11, size);
      await store.put(bucket, 'big', patternStream(11, size), { sha256: sha, tags: { k: 'v' } });
      const res = await store.copy({ bucket, key: 'big' }, { bucket, key: 'big-copy' });
      const got = await store.get(bucket, 'big-copy');
      expect(res).toMatchObject({ size, sha256: sha });
      expect(await hashStream(got.body)).toEqual({ sha256: sha, size });
      expect((await store.head(bucket, 'big-copy', { withTags: true })).tags).toEqual({ k: 'v' });
    });
  });

  describe('Method: list', () => {
    it('lists every key under a prefix in byte order across pages', async () => {
      // Prepare
      const { store, newBucket, listPageSize } = h();
      const bucket = await newBucket();
      const keys = ['a/b', 'a-c', 'a0', 'a/a/z', 'b', 'a/b0', 'é', 'z'];
      for (const k of keys) await store.put(bucket, k, Buffer.from(k));
      // Act
      const all = await collect(store.list(bucket));
      const underA = await collect(store.list(bucket, 'a/'));
      const partial = await collect(store.list(bucket, 'a/b'));
      // Assess
      const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect(keys.length).toBeGreaterThan(listPageSize);
      expect(all.map((o) => o.key)).toEqual(sorted);
      expect(underA.map((o) => o.key)).toEqual(['a/a/z', 'a/b', 'a/b0']);
      expect(partial.map((o) => o.key)).toEqual(['a/b', 'a/b0']);
      expect(all.find((o) => o.key === 'z')).toMatchObject({ size: 1, storageClass: 'STANDARD' });
      const z = all.find((o) => o.key === 'z');
      expect(z?.etag).toBe(h().singlePartEtagIsMd5 ? md5Hex('z') : (await store.head(bucket, 'z')).etag);
    });

    it('lists nothing for an empty bucket or an unmatched prefix', async () => {
      const { store, newBucket } = h();
      const bucket = await newBucket();
      expect(await collect(store.list(bucket))).toEqual([]);
      await store.put(bucket, 'x/y', Buffer.from('1'));
      expect(await collect(store.list(bucket, 'y'))).toEqual([]);
    });
  });

  describe('Method: delete', () => {
    it('deletes an object; deleting a missing key is not an error', async () => {
      const { store, newBucket } = h();
      const bucket = await newBucket();
      await store.put(bucket, 'deep/er/k', Buffer.from('1'));
      await store.delete(bucket, 'deep/er/k');
      await store.delete(bucket, 'deep/er/k');
      await store.delete(bucket, 'never-existed');
      await expect(store.head(bucket, 'deep/er/k')).rejects.toBeInstanceOf(NoSuchObjectError);
      expect(await collect(store.list(bucket))).toEqual([]);
      await store.put(bucket, 'deep', Buffer.from('a key where a folder was'));
      expect((await store.head(bucket, 'deep')).size).toBe(24);
    });
  });
}
