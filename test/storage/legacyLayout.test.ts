/**
 * Upgrading a data dir: what the local store and queue wrote before the flat sidecar layout
 * (format-1 JSON sidecars in a `.meta/<bucket>/<key>` tree; one JSON file per message) keeps
 * working in place, versions, metadata and announcements included.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalQueue } from '../../shared/queue';
import { LocalObjectStore, parseS3Event } from '../../shared/storage';
import { md5Hex, readAll, sha256Hex } from '../helpers/bytes';
import { readSidecarFile, sidecarPath } from './sidecarOnDisk';

/** Writes an object as the store did before (bytes, then its format-1 sidecar naming the file). */
function writeFormat1(root: string, bucket: string, key: string, body: string, extra: { versionId: string; announced: boolean; metadata?: Record<string, string>; tags?: Record<string, string>; contentType?: string }): void {
  const file = path.join(root, bucket, ...key.split('/'));
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, body);
  const st = statSync(file);
  const meta = path.join(root, '.meta', bucket, ...key.split('/'));
  mkdirSync(path.dirname(meta), { recursive: true });
  const sha256 = sha256Hex(body);
  writeFileSync(
    meta,
    JSON.stringify({
      v: 1,
      etag: md5Hex(body),
      sha256,
      versionId: extra.versionId,
      lastModified: '2026-12-01T10:00:00.000Z',
      contentType: extra.contentType,
      storageClass: 'STANDARD_IA',
      metadata: { ...(extra.metadata ?? {}), 'xregion-sha256': sha256 },
      tags: extra.tags ?? {},
      size: st.size,
      ino: st.ino,
      mtimeMs: st.mtimeMs,
      announced: extra.announced,
    }),
  );
}

/** Every ObjectCreated key queued so far (drains the queue). */
async function announcedKeys(q: LocalQueue): Promise<string[]> {
  const keys: string[] = [];
  for (let batch = await q.receive({ maxMessages: 10 }); batch.length > 0; batch = await q.receive({ maxMessages: 10 })) {
    for (const m of batch) {
      const ev = parseS3Event(m.body);
      if (ev !== 'test-event') keys.push(...ev.map((r) => r.key));
    }
    await q.deleteBatch(batch.map((m) => m.receiptHandle));
  }
  return keys;
}

describe('Behaviour: a data dir written before the flat sidecar layout', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'xregion-legacy-'));
    mkdirSync(path.join(root, 'bkt'), { recursive: true });
    writeFormat1(root, 'bkt', 'u@x.com/Reports/q1.csv', 'quarter one', { versionId: '0000legacyversion00000001', announced: true, metadata: { 'drive-file-id': 'f1' }, tags: { t: '1' }, contentType: 'text/csv' });
    writeFormat1(root, 'bkt', 'u@x.com/new.txt', 'never announced', { versionId: '0000legacyversion00000002', announced: false });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('serves each object with its version, ETag, metadata, tags, content type and storage class', async () => {
    const store = new LocalObjectStore({ root });
    const head = await store.head('bkt', 'u@x.com/Reports/q1.csv', { versionId: '0000legacyversion00000001', withTags: true });
    expect(head).toMatchObject({ size: 11, etag: md5Hex('quarter one'), sha256: sha256Hex('quarter one'), contentType: 'text/csv', storageClass: 'STANDARD_IA', metadata: expect.objectContaining({ 'drive-file-id': 'f1' }), tags: { t: '1' } });
    const got = await store.get('bkt', 'u@x.com/Reports/q1.csv', { versionId: '0000legacyversion00000001' });
    expect((await readAll(got.body)).toString()).toBe('quarter one');
    const listed = [];
    for await (const o of store.list('bkt')) listed.push(`${o.key}:${o.etag}`);
    expect(listed).toEqual([`u@x.com/Reports/q1.csv:${md5Hex('quarter one')}`, `u@x.com/new.txt:${md5Hex('never announced')}`]);
  });

  it('announces the version that was never announced, once, and not the one that was', async () => {
    const queue = new LocalQueue();
    const store = new LocalObjectStore({ root });
    await store.addNotificationRule({ bucket: 'bkt', events: ['s3:ObjectCreated:*'], queue });
    expect(await store.scanForNewFiles('bkt', { settleMs: 0 })).toEqual(['u@x.com/new.txt']);
    expect(await new LocalObjectStore({ root, notifications: [{ bucket: 'bkt', events: ['s3:ObjectCreated:*'], queue }] }).scanForNewFiles('bkt', { settleMs: 0 })).toEqual([]);
    expect(await announcedKeys(queue)).toEqual(['u@x.com/new.txt']);
    expect(readSidecarFile(root, 'bkt', 'u@x.com/new.txt')).toMatchObject({ versionId: '0000legacyversion00000002', announced: true });
  });

  it('writes a new version in the flat layout, and a delete removes both sidecars and the empty folders', async () => {
    const store = new LocalObjectStore({ root });
    const put = await store.put('bkt', 'u@x.com/Reports/q1.csv', Buffer.from('quarter one, revised'), { contentType: 'text/csv' });
    const reopened = new LocalObjectStore({ root });
    expect(await reopened.head('bkt', 'u@x.com/Reports/q1.csv')).toMatchObject({ versionId: put.versionId, size: 20, contentType: 'text/csv', storageClass: 'STANDARD' });
    expect(existsSync(sidecarPath(root, 'bkt', 'u@x.com/Reports/q1.csv'))).toBe(true);
    await reopened.delete('bkt', 'u@x.com/Reports/q1.csv');
    expect(existsSync(path.join(root, '.meta', 'bkt', 'u@x.com', 'Reports'))).toBe(false);
    expect(existsSync(sidecarPath(root, 'bkt', 'u@x.com/Reports/q1.csv'))).toBe(false);
    expect(readdirSync(path.join(root, 'bkt', 'u@x.com'))).toEqual(['new.txt']);
  });

  it('gives back the messages of an earlier queue folder (one file per message, receive journal)', async () => {
    const dir = path.join(root, 'queues', 'q');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, '00000001-0001-aaaaaaaaaaaa.json'), JSON.stringify({ id: '00000001-0001-aaaaaaaaaaaa', body: 'first', receiveCount: 1, sentAt: 1 }));
    writeFileSync(path.join(dir, '00000001-0002-aaaaaaaaaaaa.json'), JSON.stringify({ id: '00000001-0002-aaaaaaaaaaaa', body: 'second', receiveCount: 0, sentAt: 1 }));
    writeFileSync(path.join(dir, 'receives.log'), '00000001-0001-aaaaaaaaaaaa 3\n00000001-0002-aaaaaaaaaaaa 1\n');
    const queue = new LocalQueue({ dir });
    const got = await queue.receive({ maxMessages: 10 });
    expect(got.map((m) => [m.body, m.receiveCount])).toEqual([
      ['first', 4],
      ['second', 2],
    ]);
    await queue.deleteBatch(got.map((m) => m.receiptHandle));
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('Behaviour: sidecar names', () => {
  it('ignores a sidecar file that names another key (two keys hashing alike would share a file name)', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'xregion-sidecar-key-'));
    try {
      const store = new LocalObjectStore({ root, fsync: false });
      await store.ensureBucket('bkt');
      await store.put('bkt', 'a', Buffer.from('bytes of a'), { metadata: { who: 'a' } });
      // Another key's file, with the same bytes on disk, placed where b's sidecar would be.
      writeFileSync(path.join(root, 'bkt', 'b'), 'bytes of a');
      writeFileSync(sidecarPath(root, 'bkt', 'b'), (await import('node:fs')).readFileSync(sidecarPath(root, 'bkt', 'a')));
      const head = await new LocalObjectStore({ root, fsync: false }).head('bkt', 'b');
      expect(head.metadata).not.toHaveProperty('who');
      expect(head.etag).toBe(md5Hex('bytes of a'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
