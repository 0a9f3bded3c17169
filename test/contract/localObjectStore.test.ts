/** LocalObjectStore specifics beyond the contract: folder layout, key guards, dropped files, crashes. */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalQueue } from '../../shared/queue';
import { InvalidKeyError, LocalObjectStore, parseS3Event, type S3EventRecord } from '../../shared/storage';
import { md5Hex, readAll, sha256Hex } from '../helpers/bytes';
import { readSidecarFile, sidecarPath, writeSidecarFile } from '../storage/sidecarOnDisk';

describe('Class: LocalObjectStore (specifics)', () => {
  let root: string;
  let store: LocalObjectStore;

  beforeEach(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'xregion-local-'));
    store = new LocalObjectStore({ root });
    await store.ensureBucket('bkt');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  describe('Behaviour: layout', () => {
    it('keeps bytes at <root>/<bucket>/<key> and the sidecar at <root>/.sidecars/<bucket>/<md5 of key>', async () => {
      await store.put('bkt', 'a/b c.txt', Buffer.from('bytes'), { contentType: 'text/plain', tags: { t: '1' } });
      expect(readFileSync(path.join(root, 'bkt', 'a', 'b c.txt'), 'utf8')).toBe('bytes');
      const side = readSidecarFile(root, 'bkt', 'a/b c.txt');
      expect(side).toMatchObject({ key: 'a/b c.txt', etag: md5Hex('bytes'), sha256: sha256Hex('bytes'), contentType: 'text/plain', tags: { t: '1' } });
      expect(readdirSync(path.join(root, '.sidecars', 'bkt'))).toEqual([path.basename(sidecarPath(root, 'bkt', 'a/b c.txt'))]);
    });
  });

  describe('Method: copy / replicateFrom', () => {
    it('shares the bytes through a hard link, and a later overwrite of the source leaves the copy intact', async () => {
      // Prepare: another region's store on the same filesystem
      const other = new LocalObjectStore({ root: path.join(root, 'other-region'), region: 'eu-central-1' });
      await other.ensureBucket('replica');
      await store.put('bkt', 'a.tar.zst', Buffer.from('archive v1'), { contentType: 'application/zstd', metadata: { m: '1' }, tags: { t: '1' } });

      // Act
      await store.copy({ bucket: 'bkt', key: 'a.tar.zst' }, { bucket: 'bkt', key: 'backup/a.tar.zst' });
      await other.replicateFrom(store, { bucket: 'bkt', key: 'a.tar.zst' }, { bucket: 'replica', key: 'a.tar.zst' });
      const linked = [statSync(path.join(root, 'bkt', 'backup', 'a.tar.zst')).ino, statSync(path.join(root, 'other-region', 'replica', 'a.tar.zst')).ino];
      await store.put('bkt', 'a.tar.zst', Buffer.from('archive v2, longer'));

      // Assess
      expect(linked).toEqual([statSync(path.join(root, 'bkt', 'backup', 'a.tar.zst')).ino, statSync(path.join(root, 'other-region', 'replica', 'a.tar.zst')).ino]);
      expect(linked[0]).toBe(linked[1]);
      expect((await readAll((await store.get('bkt', 'backup/a.tar.zst')).body)).toString()).toBe('archive v1');
      const replica = await other.get('replica', 'a.tar.zst');
      expect((await readAll(replica.body)).toString()).toBe('archive v1');
      expect(replica.info).toMatchObject({ contentType: 'application/zstd', sha256: sha256Hex('archive v1'), metadata: expect.objectContaining({ m: '1' }) });
      expect((await other.head('replica', 'a.tar.zst', { withTags: true })).tags).toEqual({ t: '1' });
    });
  });

  describe('Behaviour: folders', () => {
    it('recreates a folder removed behind its back (cached folder checks are only a cache)', async () => {
      await store.put('bkt', 'deep/dir/a', Buffer.from('1'));
      rmSync(path.join(root, 'bkt', 'deep'), { recursive: true });
      rmSync(path.join(root, '.sidecars', 'bkt'), { recursive: true });
      await store.put('bkt', 'deep/dir/b', Buffer.from('2'));
      expect(readFileSync(path.join(root, 'bkt', 'deep', 'dir', 'b'), 'utf8')).toBe('2');
      expect((await store.head('bkt', 'deep/dir/b')).etag).toBe(md5Hex('2'));
    });
  });

  describe('Behaviour: key guard', () => {
    it.each(['../escape', 'a/../../escape', '/abs', 'nul\0byte', 'a//b', 'dir/', '', './x', 'a/./b'])('rejects %j with InvalidKeyError', async (key) => {
      await expect(store.put('bkt', key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.get('bkt', key)).rejects.toBeInstanceOf(InvalidKeyError);
      expect(existsSync(path.join(root, 'escape'))).toBe(false);
    });

    it('rejects bucket names that are not S3 names', async () => {
      await expect(store.put('../bkt', 'k', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.ensureBucket('.meta')).rejects.toBeInstanceOf(InvalidKeyError);
    });

    it('rejects a key that needs a folder where a file is (and the reverse)', async () => {
      await store.put('bkt', 'a', Buffer.from('file'));
      await store.put('bkt', 'd/e', Buffer.from('file'));
      await expect(store.put('bkt', 'a/b', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.put('bkt', 'd', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
      expect((await readAll((await store.get('bkt', 'a')).body)).toString()).toBe('file');
    });
  });

  describe('Behaviour: files dropped into the bucket folder', () => {
    it('serves a file without a sidecar as an object, deriving its ETag and sha256', async () => {
      // Prepare
      mkdirSync(path.join(root, 'bkt', 'dropped'), { recursive: true });
      writeFileSync(path.join(root, 'bkt', 'dropped', 'in.txt'), 'by hand');
      // Act
      const head = await store.head('bkt', 'dropped/in.txt');
      const again = await store.head('bkt', 'dropped/in.txt');
      const listed = [];
      for await (const o of store.list('bkt')) listed.push(o.key);
      // Assess
      expect(head).toMatchObject({ size: 7, etag: md5Hex('by hand'), sha256: sha256Hex('by hand'), storageClass: 'STANDARD' });
      expect(again.versionId).toBe(head.versionId);
      expect(listed).toEqual(['dropped/in.txt']);
    });

    it('notices a file replaced by hand (its sidecar no longer matches) and derives fresh facts', async () => {
      await store.put('bkt', 'k', Buffer.from('put by the store'), { metadata: { a: '1' } });
      writeFileSync(path.join(root, 'bkt', 'k'), 'edited');
      const head = await store.head('bkt', 'k');
      expect(head).toMatchObject({ size: 6, etag: md5Hex('edited'), sha256: sha256Hex('edited'), metadata: {} });
    });

    it('scanForNewFiles announces settled new files once, skipping files still being written and files put through the store', async () => {
      // Prepare
      const queue = new LocalQueue();
      await store.addNotificationRule({ bucket: 'bkt', events: ['s3:ObjectCreated:*'], queue });
      await store.put('bkt', 'via-put.txt', Buffer.from('p'));
      writeFileSync(path.join(root, 'bkt', 'old enough.txt'), 'settled');
      const past = new Date(Date.now() - 10_000);
      utimesSync(path.join(root, 'bkt', 'old enough.txt'), past, past);
      writeFileSync(path.join(root, 'bkt', 'fresh.txt'), 'still copying');
      // Act
      const first = await store.scanForNewFiles('bkt', { settleMs: 5000 });
      const second = await store.scanForNewFiles('bkt', { settleMs: 5000 });
      const later = await store.scanForNewFiles('bkt', { settleMs: 0 });
      const bodies = (await queue.receive({ maxMessages: 10 })).map((m) => parseS3Event(m.body));
      // Assess
      expect(first).toEqual(['old enough.txt']);
      expect(second).toEqual([]);
      expect(later).toEqual(['fresh.txt']);
      const keys = bodies.filter((b): b is S3EventRecord[] => b !== 'test-event').map((r) => r[0].key);
      expect(keys).toEqual(['via-put.txt', 'old enough.txt', 'fresh.txt']);
    });
  });

  describe('Behaviour: concurrent puts of one key', () => {
    it('ends with one whole version whose sidecar describes its bytes', async () => {
      const bodies = Array.from({ length: 12 }, (_, i) => Buffer.from(`version ${i} `.repeat(i + 1)));
      const results = await Promise.all(bodies.map((b) => store.put('bkt', 'hot', b, { metadata: { n: String(b.length) } })));
      const head = await store.head('bkt', 'hot');
      const bytes = await readAll((await store.get('bkt', 'hot')).body);
      expect(results.map((r) => r.versionId)).toContain(head.versionId);
      expect(head).toMatchObject({ etag: md5Hex(bytes), sha256: sha256Hex(bytes), size: bytes.length, metadata: { n: String(bytes.length) } });
    });
  });

  describe('Behaviour: crash safety', () => {
    it('keeps the old object whole when the writing process is killed mid-put (SIGKILL)', async () => {
      // Prepare
      await store.put('bkt', 'victim', Buffer.from('old, complete version'));
      // `node --import tsx` (not the tsx CLI, which forks a second process SIGKILL would orphan).
      const script = path.resolve(__dirname, '..', 'helpers', 'crashingPut.ts');
      const child = spawn(process.execPath, ['--import', 'tsx', script, root, 'bkt', 'victim'], { stdio: 'ignore', cwd: path.resolve(__dirname, '..', '..') });
      // Act: wait until its temp file holds > 1 MiB, then kill it without warning
      const tmpDir = path.join(root, '.tmp');
      const until = Date.now() + 20_000;
      const tmpSize = () => (existsSync(tmpDir) ? readdirSync(tmpDir).reduce((n, f) => n + statSync(path.join(tmpDir, f)).size, 0) : 0);
      while (tmpSize() < 1024 * 1024 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const written = tmpSize();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      // Assess
      expect(written).toBeGreaterThanOrEqual(1024 * 1024);
      const fresh = new LocalObjectStore({ root });
      expect((await readAll((await fresh.get('bkt', 'victim')).body)).toString()).toBe('old, complete version');
      const keys = [];
      for await (const o of fresh.list('bkt')) keys.push(`${o.key}:${o.size}`);
      expect(keys).toEqual(['victim:21']);
    }, 30_000);

    it('never lists leftovers of an interrupted write', async () => {
      mkdirSync(path.join(root, '.tmp'), { recursive: true });
      writeFileSync(path.join(root, '.tmp', 'put-deadbeef'), 'half an object');
      await store.put('bkt', 'whole', Buffer.from('complete'));
      const keys = [];
      for await (const o of store.list('bkt')) keys.push(o.key);
      expect(keys).toEqual(['whole']);
      const past = new Date(Date.now() - 2 * 3_600_000);
      utimesSync(path.join(root, '.tmp', 'put-deadbeef'), past, past);
      expect(await store.sweepTempFiles({ olderThanMs: 3_600_000 })).toEqual({ files: 1, bytes: 14 });
      expect(existsSync(path.join(root, '.tmp', 'put-deadbeef'))).toBe(false);
    });

    it('a data folder copied elsewhere (new inodes) keeps each version, ETag and metadata, and is not announced again', async () => {
      // Prepare: a versioned object whose event was queued, then the whole folder copied with its timestamps (as cp -a does)
      const queue = new LocalQueue();
      await store.addNotificationRule({ bucket: 'bkt', queue: new LocalQueue(), events: ['s3:ObjectCreated:*'] });
      const put = await store.put('bkt', 'docs/a.txt', Buffer.from('keep my version'), { contentType: 'text/plain', metadata: { m: '1' }, tags: { t: '1' } });
      const copyRoot = `${root}-copy`;
      cpSync(root, copyRoot, { recursive: true, preserveTimestamps: true });
      try {
        const copied = new LocalObjectStore({ root: copyRoot });
        await copied.addNotificationRule({ bucket: 'bkt', queue, events: ['s3:ObjectCreated:*'] });
        await queue.receive({ maxMessages: 10 }); // the s3:TestEvent

        // Act
        const head = await copied.head('bkt', 'docs/a.txt', { versionId: put.versionId, withTags: true });
        const announced = await copied.scanForNewFiles('bkt', { settleMs: 0 });

        // Assess
        expect(statSync(path.join(copyRoot, 'bkt', 'docs', 'a.txt')).ino).not.toBe(statSync(path.join(root, 'bkt', 'docs', 'a.txt')).ino);
        expect(head).toMatchObject({ versionId: put.versionId, etag: put.etag, contentType: 'text/plain', metadata: expect.objectContaining({ m: '1' }), tags: { t: '1' } });
        expect(announced).toEqual([]);
        expect(await queue.receive({ maxMessages: 10 })).toEqual([]);
      } finally {
        rmSync(copyRoot, { recursive: true, force: true });
      }
    });

    it('keeps the old bytes and correct facts when a crash left a new sidecar but not the new data', async () => {
      // Prepare: commit v1, then simulate the first half of committing v2 (sidecar renamed, data not)
      await store.put('bkt', 'k', Buffer.from('version 1'));
      const side = readSidecarFile(root, 'bkt', 'k');
      writeSidecarFile(root, 'bkt', 'k', { ...side, versionId: String(side.versionId), etag: md5Hex('version 2'), size: 9, ino: side.ino + 1 });
      // Act (a fresh store: nothing cached from the put)
      const head = await new LocalObjectStore({ root }).head('bkt', 'k');
      // Assess
      expect(head).toMatchObject({ size: 9, etag: md5Hex('version 1') });
      expect((await readAll((await store.get('bkt', 'k')).body)).toString()).toBe('version 1');
    });
  });
});
