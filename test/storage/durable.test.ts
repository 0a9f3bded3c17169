/** durable.ts: group-committed folder syncs, and new folders a write must wait for. */
import { mkdirSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DirSync, syncCalls } from '../../shared/storage/local/durable';

describe('Class: DirSync', () => {
  let root: string;
  /** fsyncs begun and not yet let finish: [folder, finish]. */
  let held: Array<[string, () => void]>;

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'xregion-dirsync-'));
    held = [];
    // Hold every folder fsync until the test lets it finish.
    jest.spyOn(syncCalls, 'fsync').mockImplementation((fd, cb) => {
      held.push([readlinkSync(`/proc/self/fd/${fd}`), () => cb(null)]);
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  /** A few event-loop turns: the sync starts one turn after its first caller, to let that turn's callers join. */
  const tick = async () => {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  };

  describe('Method: sync', () => {
    it('gives callers of one event-loop turn one fsync, and a caller during a running fsync the next one', async () => {
      // Prepare
      const dirs = new DirSync();
      const done: string[] = [];
      const early = [dirs.sync(root), dirs.sync(root), dirs.sync(root)].map((p, i) => p.then(() => done.push(`early${i}`)));
      await tick();
      expect(held.length).toBe(1); // one fsync for three callers

      // Act: a caller arrives while that fsync runs (its rename may have come after the fsync began)
      const late = dirs.sync(root).then(() => done.push('late'));
      held[0]![1]();
      await Promise.all(early);
      await tick();

      // Assess
      expect(done).toEqual(['early0', 'early1', 'early2']);
      expect(held.length).toBe(2);
      held[1]![1]();
      await late;
      expect(done).toEqual(['early0', 'early1', 'early2', 'late']);
    });

    it('resolves for a folder that no longer exists (nothing in it is left to keep)', async () => {
      await expect(new DirSync().sync(path.join(root, 'gone'))).resolves.toBeUndefined();
    });
  });

  describe('Method: folderDurable', () => {
    it('holds a writer into a folder another writer just created until that folder\'s entry is synced', async () => {
      // Prepare: writer A created a/b (mkdir -p); its parents' syncs are running
      const dirs = new DirSync();
      mkdirSync(path.join(root, 'a', 'b'), { recursive: true });
      dirs.created(path.join(root, 'a'), path.join(root, 'a', 'b'));
      let durable = false;
      // Act: writer B, into a/b, asks whether the folder is on disk
      const b = dirs.folderDurable(path.join(root, 'a', 'b')).then(() => (durable = true));
      await tick();
      // Assess
      expect(held.map(([f]) => path.relative(root, f)).sort()).toEqual(['', 'a']);
      expect(durable).toBe(false);
      for (const [, finish] of held) finish();
      await b;
      expect(durable).toBe(true);
    });
  });
});
