/**
 * The per-user index at domain scale: kept on local disk (IndexStore) instead of a whole in-memory
 * map, read from the state the previous build wrote, and index.jsonl not rewritten by a run that
 * changed nothing. Against the sample Drive through googleapis where a run is involved.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { UserState, type IndexEntry } from '../../shared/drive';
import { CountingStore, BUCKET, driveTestEnv, tempStore } from './helpers';

const FIXTURE = join(__dirname, 'fixtures', 'state-98bb2dd');
const ALICE = 'alice@acme.example';
const BASE = `_xregion/state/drive/acme/${ALICE}/`;

describe('Class: UserState (index on local disk)', () => {
  jest.setTimeout(120_000);

  it('matches a Map model over random sets, re-sets and a reload from index.jsonl plus journal', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 8 }), fc.constantFrom('binary', 'failed', 'excluded', 'unavailable', 'not_owned'), fc.boolean()), { minLength: 1, maxLength: 60 }),
        async (ops) => {
          const t = await tempStore();
          try {
            const model = new Map<string, IndexEntry>();
            // The file set last at a path with a key holds it (a later set of the same file again too).
            const holder = new Map<string, string>();
            const record = (id: string, e: IndexEntry): void => { model.set(id, e); if (e.key && e.path) holder.set(e.path, id); };
            const a = await UserState.load(t.store, BUCKET, BASE, ALICE, 'run-a', { flushEvery: 25 });
            for (const [i, p, kind, stored] of ops) {
              const e: IndexEntry = { key: stored ? `k/${p}` : '', kind: kind as IndexEntry['kind'], path: `dir/${p}.txt`, size: i, ...(kind === 'failed' ? { reason: 'x' } : {}) };
              record(`id-${i}`, e);
              await a.set(`id-${i}`, e);
            }
            const check = (s: UserState): void => {
              expect(s.size).toBe(model.size);
              for (const [id, e] of model) expect(s.get(id)).toEqual(e);
              expect(s.get('id-missing')).toBeUndefined();
              // ... while that is still its path.
              for (const [path, id] of holder) {
                const got = s.ownerOfPath(path);
                if (model.get(id)!.path === path && model.get(id)!.key) expect(got).toBe(id);
                // Otherwise none, or (after a reload) another file that is stored there.
                else if (got !== undefined) expect([model.get(got)?.path, !!model.get(got)?.key]).toEqual([path, true]);
              }
            };
            check(a);
            await a.save({ changeToken: '1' });
            await a.compact();
            a.close();
            // Half the changes again, journaled only (a crash before compaction), then reloaded.
            const b = await UserState.load(t.store, BUCKET, BASE, ALICE, 'run-b', { flushEvery: 10 });
            check(b);
            for (const [i] of ops.slice(0, Math.ceil(ops.length / 2))) {
              const e: IndexEntry = { ...model.get(`id-${i}`)!, failed: 'again' };
              record(`id-${i}`, e);
              await b.set(`id-${i}`, e);
            }
            await b.flush();
            b.close();
            const c = await UserState.load(t.store, BUCKET, BASE, ALICE, 'run-c');
            check(c);
            const failed: string[] = [];
            for await (const r of c.recheck({ excluded: false, exports: false })) if (r.failed) failed.push(r.id);
            expect(failed.sort()).toEqual([...model].filter(([, e]) => e.kind === 'failed' || e.failed !== undefined).map(([id]) => id).sort());
            c.close();
          } finally {
            t.cleanup();
          }
        },
      ),
      { numRuns: 12 },
    );
  });

  it('reads the state the previous build (98bb2dd) wrote: every entry, its paths and its counts', async () => {
    // Prepare: state.json and index.jsonl exactly as that build's run of alice left them
    const t = await tempStore();
    try {
      for (const f of ['state.json', 'index.jsonl']) await t.store.put(BUCKET, `${BASE}${f}`, readFileSync(join(FIXTURE, f)));
      const lines = readFileSync(join(FIXTURE, 'index.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as [string, IndexEntry]);
      // Act
      const s = await UserState.load(t.store, BUCKET, BASE, ALICE, 'run-new');
      // Assess
      expect(s.doc.changeToken).toBe('36');
      expect(s.size).toBe(lines.length);
      for (const [id, e] of lines) {
        expect(s.get(id)).toEqual(e);
        if (e.key && e.path) expect(s.ownerOfPath(e.path)).toBe(id);
      }
      expect(s.summary()).toMatchObject({ entries: 17, files: 17, stored: 14, unavailable: 2, excluded: 1, failed: 0, notOwned: 0 });
      s.close();
    } finally {
      t.cleanup();
    }
  });
});

describe('Function: runDriveIngest (index writes)', () => {
  const env = driveTestEnv(64 * 1024);

  it("a run that changes nothing writes no index.jsonl and no journal segment; a change rewrites it", async () => {
    // Prepare: a first full run
    const counting = new CountingStore(env.t.store);
    const first = await env.run({ store: counting });
    expect(first.stats.failed).toBe(0);
    const ok = first.subjects.filter((s) => s.status === 'ok').map((s) => s.subject);
    const indexPuts = () => [...counting.puts].filter(([k]) => k.endsWith('/index.jsonl') || k.includes('/journal/')).reduce((n, [, c]) => n + c, 0);
    const before = indexPuts();
    expect(before).toBeGreaterThan(0);
    // Act: an incremental run with nothing changed in Drive
    const second = await env.run({ store: counting });
    // Assess
    expect(second.subjects.filter((s) => ok.includes(s.subject)).map((s) => `${s.mode} ${s.status}`)).toEqual(ok.map(() => 'incremental ok'));
    expect(indexPuts()).toBe(before);
    // A change (scripted edits) rewrites the index again
    env.sd.simulateChanges();
    await env.run({ store: counting });
    const rewritten = [...counting.puts].filter(([k, c]) => k.endsWith('/index.jsonl') && c > 1).map(([k]) => k);
    expect(rewritten.length).toBeGreaterThan(0);
  });

  it('a run after the previous build\'s state uploads none of the files that state holds', async () => {
    // Prepare: alice's state as 98bb2dd wrote it, and its objects (a first run of this build puts them)
    const seeded = await env.run({ userFilter: ALICE });
    expect(seeded.stats.failed).toBe(0);
    for (const f of ['state.json', 'index.jsonl']) await env.t.store.put(BUCKET, `${BASE}${f}`, readFileSync(join(FIXTURE, f)));
    const lines = readFileSync(join(FIXTURE, 'index.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as [string, IndexEntry]);
    const counting = new CountingStore(env.t.store);
    // Act
    const r = await env.run({ store: counting, userFilter: ALICE });
    // Assess: incremental from the old token; no stored file of the old index uploaded again
    expect(r.subjects[0].mode).toBe('incremental');
    const old = new Set(lines.map(([, e]) => e.key).filter(Boolean));
    expect([...counting.contentPuts().keys()].filter((k) => old.has(k))).toEqual([]);
    const s = await UserState.load(env.t.store, BUCKET, BASE, ALICE, 'reader');
    for (const [id, e] of lines) expect(s.get(id)?.key).toBe(e.key);
    s.close();
  });
});
