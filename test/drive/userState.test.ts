/** UserState fencing: a run that was taken over cannot commit over the run that took over. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DriveStateTakenOverError, UserState } from '../../shared/drive';
import { LocalObjectStore } from '../../shared/storage/local/LocalObjectStore';

const BUCKET = 'backup';
const BASE = '_xregion/state/drive/acme/bob/';

describe('Class: UserState', () => {
  let dir: string;
  let store: LocalObjectStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xregion-userstate-'));
    store = new LocalObjectStore({ root: dir });
    await store.ensureBucket(BUCKET);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = (runId: string) => UserState.load(store, BUCKET, BASE, 'bob@acme.example', runId);
  const committed = async () => (await load('reader')).doc.changeToken;

  it("a stalled run's save and compaction fail once another run has saved; the other run's token stands", async () => {
    // Prepare: a first run commits token 1; then two runs load the same state
    const first = await load('run-0');
    await first.save({ changeToken: '1' });
    const stalled = await load('run-a');
    const takeover = await load('run-b');
    // Act: the run that took over commits first
    await takeover.save({ changeToken: '2', inProgress: undefined });
    // Assess
    await expect(stalled.save({ changeToken: '1b' })).rejects.toBeInstanceOf(DriveStateTakenOverError);
    await expect(stalled.compact()).rejects.toThrow(/changed by another run.*stopping without committing/);
    expect(await committed()).toBe('2');
    await takeover.save({ changeToken: '3' }); // its own later saves still go through
    await takeover.compact();
    expect(await committed()).toBe('3');
  });

  it('two first runs: only one creates state.json', async () => {
    const a = await load('run-a');
    const b = await load('run-b');
    await a.save({ changeToken: 'a' });
    await expect(b.save({ changeToken: 'b' })).rejects.toBeInstanceOf(DriveStateTakenOverError);
    expect(await committed()).toBe('a');
  });
});
