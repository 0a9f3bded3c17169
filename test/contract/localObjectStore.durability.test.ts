/**
 * LocalObjectStore durability (fsync on by default): what reaches the disk before a put returns
 * and before its event is sent. A power loss cannot be simulated here, so these tests watch the
 * sync calls themselves (through durable.ts's syncCalls) and what was in place when each ran.
 */
import { existsSync, mkdtempSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalQueue } from '../../shared/queue';
import { LocalObjectStore } from '../../shared/storage';
import { syncCalls } from '../../shared/storage/local/durable';

type Call = { op: 'fdatasync' | 'fsync' | 'send' | 'resolved'; file: string; dataInPlace: boolean };

describe('Class: LocalObjectStore (durability)', () => {
  let root: string;
  let calls: Call[];
  let dataPath: string;

  beforeEach(() => {
    root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'xregion-durable-')));
    calls = [];
    dataPath = path.join(root, 'bkt', 'a', 'b', 'k.txt');
    const record = (op: 'fdatasync' | 'fsync', fd: number) => calls.push({ op, file: readlinkSync(`/proc/self/fd/${fd}`), dataInPlace: existsSync(dataPath) });
    const { fdatasync, fsync } = syncCalls;
    jest.spyOn(syncCalls, 'fdatasync').mockImplementation((fd, cb) => {
      record('fdatasync', fd);
      fdatasync(fd, cb);
    });
    jest.spyOn(syncCalls, 'fsync').mockImplementation((fd, cb) => {
      record('fsync', fd);
      fsync(fd, cb);
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  const rel = (f: string) => path.relative(root, f);

  describe('Method: put', () => {
    it('syncs data and sidecar before the renames, then every folder with a new entry, before it returns and sends the event', async () => {
      // Prepare: a rule, so the event's place in the order shows
      const queue = new LocalQueue();
      const store = new LocalObjectStore({ root });
      await store.ensureBucket('bkt');
      await store.addNotificationRule({ bucket: 'bkt', events: ['s3:ObjectCreated:*'], queue: { ...queue, send: async (body: string) => {
        calls.push({ op: 'send', file: '', dataInPlace: existsSync(dataPath) });
        await queue.send(body);
      }, receive: queue.receive.bind(queue), extendVisibility: queue.extendVisibility.bind(queue), deleteBatch: queue.deleteBatch.bind(queue), approximateDepth: queue.approximateDepth.bind(queue) } });
      calls.length = 0;

      // Act
      await store.put('bkt', 'a/b/k.txt', Buffer.from('durable bytes'));
      calls.push({ op: 'resolved', file: '', dataInPlace: true });

      // Assess: temp files synced while the key did not exist yet
      const synced = calls.filter((c) => c.op === 'fdatasync');
      expect(synced.filter((c) => /^\.tmp\/put-/.test(rel(c.file))).map((c) => c.dataInPlace)).toEqual([false]);
      expect(synced.filter((c) => /^\.tmp\/meta-/.test(rel(c.file))).every((c) => !c.dataInPlace)).toBe(true);
      // ... then the folders holding the data and sidecar entries, and those of the new folders
      const dirs = calls.filter((c) => c.op === 'fsync');
      expect(dirs.every((c) => c.dataInPlace)).toBe(true);
      expect(new Set(dirs.map((c) => rel(c.file) || '.'))).toEqual(new Set(['bkt/a/b', 'bkt/a', 'bkt', '.sidecars/bkt', '.sidecars', '.']));
      // ... and only then the event, and the put's return
      const order = calls.map((c) => c.op);
      expect(order.lastIndexOf('fsync')).toBeLessThan(order.indexOf('send'));
      expect(order.indexOf('send')).toBeLessThan(order.indexOf('resolved'));
    });

    it('shares one folder sync among concurrent puts into that folder', async () => {
      const store = new LocalObjectStore({ root });
      await store.ensureBucket('bkt');
      await store.put('bkt', 'f/warm', Buffer.from('creates the folder'));
      calls.length = 0;
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.put('bkt', `f/${i}`, Buffer.from(`object ${i}`))));
      const folderSyncs = calls.filter((c) => c.op === 'fsync' && rel(c.file) === 'bkt/f').length;
      expect(calls.filter((c) => c.op === 'fdatasync').length).toBe(40); // data + sidecar each
      expect(folderSyncs).toBeGreaterThanOrEqual(1);
      expect(folderSyncs).toBeLessThanOrEqual(3);
    });

    it('syncs the data of a copy made by bytes and of one made by a hard link', async () => {
      const store = new LocalObjectStore({ root });
      await store.ensureBucket('bkt');
      await store.put('bkt', 'src', Buffer.from('copied'));
      calls.length = 0;
      await store.copy({ bucket: 'bkt', key: 'src' }, { bucket: 'bkt', key: 'a/b/k.txt' });
      expect(calls.filter((c) => c.op === 'fdatasync' && /^\.tmp\/put-/.test(rel(c.file))).map((c) => c.dataInPlace)).toEqual([false]);
      expect(calls.some((c) => c.op === 'fsync' && rel(c.file) === 'bkt/a/b' && c.dataInPlace)).toBe(true);
    });

    it('makes no sync call with fsync: false', async () => {
      const store = new LocalObjectStore({ root, fsync: false });
      await store.ensureBucket('bkt');
      await store.put('bkt', 'a/b/k.txt', Buffer.from('fast, not durable'));
      await store.copy({ bucket: 'bkt', key: 'a/b/k.txt' }, { bucket: 'bkt', key: 'c' });
      expect(calls).toEqual([]);
    });
  });

  describe('Method: ensureBucket', () => {
    it('syncs the root so a new bucket folder survives', async () => {
      const store = new LocalObjectStore({ root });
      await store.ensureBucket('new-bucket');
      expect(calls.filter((c) => c.op === 'fsync').map((c) => rel(c.file) || '.')).toEqual(['.']);
      calls.length = 0;
      await store.ensureBucket('new-bucket');
      expect(calls).toEqual([]);
    });
  });
});
