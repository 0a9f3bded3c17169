/**
 * LocalObjectStore.scanForNewFiles announces a file dropped into a bucket folder only once its
 * size and mtime have been seen unchanged for `settleMs` across scans, so a file still being
 * written is never announced torn, whatever its mtime says.
 */
import { appendFileSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalQueue } from '../../shared/queue';
import { LocalObjectStore, parseS3Event, type S3EventRecord } from '../../shared/storage';
import { DEFAULT_SETTLE_MS } from '../../shared/storage/local/LocalObjectStore';
import { md5Hex } from '../helpers/bytes';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every ObjectCreated record queued so far (drains the queue). */
async function records(q: LocalQueue): Promise<S3EventRecord[]> {
  const out: S3EventRecord[] = [];
  for (let batch = await q.receive({ maxMessages: 10 }); batch.length > 0; batch = await q.receive({ maxMessages: 10 })) {
    for (const m of batch) {
      const ev = parseS3Event(m.body);
      if (ev !== 'test-event') out.push(...ev);
    }
    await q.deleteBatch(batch.map((m) => m.receiptHandle));
  }
  return out;
}

describe('Class: LocalObjectStore (settling of dropped files)', () => {
  let root: string;
  let queue: LocalQueue;
  let store: LocalObjectStore;

  beforeEach(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'xregion-settle-'));
    queue = new LocalQueue({ visibilityTimeoutSeconds: 300 });
    store = new LocalObjectStore({ root, settleMs: 600 });
    await store.ensureBucket('src');
    await store.addNotificationRule({ bucket: 'src', events: ['s3:ObjectCreated:*'], queue });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Writes `chunks` 300 ms apart (after each, `afterChunk`) while scanning every 50 ms; returns the keys each scan announced. */
  async function writeWhileScanning(file: string, chunks: string[], afterChunk: () => void = () => undefined): Promise<string[]> {
    const announced: string[] = [];
    let writing = true;
    const scanner = (async () => {
      // Scan on until the writer is done and a settle time has passed with no announcement pending.
      for (let idle = Date.now(); writing || Date.now() - idle < 1500; await sleep(50)) {
        announced.push(...(await store.scanForNewFiles('src')));
      }
    })();
    for (const [i, chunk] of chunks.entries()) {
      if (i > 0) await sleep(300);
      appendFileSync(file, chunk);
      afterChunk();
    }
    writing = false;
    await scanner;
    return announced;
  }

  describe('Method: scanForNewFiles', () => {
    it('announces a file written in three chunks 300 ms apart (settle 600 ms) once, complete', async () => {
      const chunks = ['first chunk;', 'second chunk;', 'third chunk.'];
      const announced = await writeWhileScanning(path.join(root, 'src', 'growing.txt'), chunks);
      const recs = await records(queue);
      expect(announced).toEqual(['growing.txt']);
      expect(recs.map((r) => [r.key, r.size, r.etag])).toEqual([['growing.txt', chunks.join('').length, md5Hex(chunks.join(''))]]);
    });

    it('waits for a growing file whose mtime is stamped into the past after each chunk (a sync client keeping the source time)', async () => {
      // Prepare: the writer restores an old mtime after every chunk, so "mtime older than settle" says "done" at once
      const file = path.join(root, 'src', 'synced.bin');
      const stamp = new Date(Date.now() - 3_600_000);
      const chunks = ['a'.repeat(1000), 'b'.repeat(1000), 'c'.repeat(1000)];
      let first = true;
      // Act
      const announced = await writeWhileScanning(file, chunks, () => {
        // The first chunk keeps its fresh mtime (the client stamps the time once it has written a block after it).
        if (!first) utimesSync(file, stamp, stamp);
        first = false;
      });
      // Assess
      const recs = await records(queue);
      expect(announced).toEqual(['synced.bin']);
      expect(recs.map((r) => [r.key, r.size, r.etag])).toEqual([['synced.bin', 3000, md5Hex(chunks.join(''))]]);
    });

    it('announces a file whose mtime lies in the future (a writer with a clock ahead) once it has been stable for settleMs', async () => {
      const file = path.join(root, 'src', 'ahead.txt');
      writeFileSync(file, 'from a clock one hour ahead');
      const ahead = new Date(Date.now() + 3_600_000);
      utimesSync(file, ahead, ahead);
      expect(await store.scanForNewFiles('src')).toEqual([]);
      await sleep(650);
      expect(await store.scanForNewFiles('src')).toEqual(['ahead.txt']);
    });

    it('announces at once a file already older than settleMs when first seen (present before the start)', async () => {
      const file = path.join(root, 'src', 'old.txt');
      writeFileSync(file, 'here before we started');
      const past = new Date(Date.now() - 60_000);
      utimesSync(file, past, past);
      expect(await store.scanForNewFiles('src')).toEqual(['old.txt']);
    });

    it('takes settleMs per call over the configured one', async () => {
      writeFileSync(path.join(root, 'src', 'now.txt'), 'just written');
      expect(await store.scanForNewFiles('src')).toEqual([]);
      expect(await store.scanForNewFiles('src', { settleMs: 0 })).toEqual(['now.txt']);
    });
  });

  describe('Method: unsettledCount', () => {
    it('counts files seen but not yet settled, and forgets those announced or removed', async () => {
      writeFileSync(path.join(root, 'src', 'a.txt'), 'a');
      writeFileSync(path.join(root, 'src', 'b.txt'), 'b');
      expect(store.unsettledCount('src')).toBe(0); // not scanned yet
      await store.scanForNewFiles('src');
      expect(store.unsettledCount('src')).toBe(2);
      rmSync(path.join(root, 'src', 'b.txt'));
      await sleep(650);
      expect(await store.scanForNewFiles('src')).toEqual(['a.txt']);
      expect(store.unsettledCount('src')).toBe(0);
    });
  });

  it('settles for 2 s unless told otherwise', async () => {
    expect(DEFAULT_SETTLE_MS).toBe(2000);
    const plain = new LocalObjectStore({ root });
    writeFileSync(path.join(root, 'src', 'x.txt'), 'x');
    const past = new Date(statSync(path.join(root, 'src', 'x.txt')).mtimeMs - 1500);
    utimesSync(path.join(root, 'src', 'x.txt'), past, past);
    expect(await plain.scanForNewFiles('src')).toEqual([]); // 1.5 s old: not yet
  });
});
