/** `user_concurrency`: a validated config field (no longer a hidden option fixed at 2) that the run honours. */
import type { ObjectStore, PutOptions, PutResult } from '../../shared/storage/port';
import { CountingStore, driveSource, driveTestEnv } from './helpers';

/** Tracks how many subjects are between their first state write (inProgress) and their last. */
class SubjectsInFlight extends CountingStore {
  private readonly open = new Set<string>();
  max = 0;
  constructor(inner: ObjectStore) {
    super(inner);
  }
  override async put(bucket: string, key: string, body: Parameters<ObjectStore['put']>[2], opts?: PutOptions): Promise<PutResult> {
    const m = /^_xregion\/state\/drive\/[^/]+\/([^/]+)\/state\.json$/.exec(key);
    if (m && Buffer.isBuffer(body)) {
      const doc = JSON.parse(body.toString('utf8')) as { inProgress?: string };
      if (doc.inProgress) this.open.add(m[1]);
      else this.open.delete(m[1]);
      this.max = Math.max(this.max, this.open.size);
    }
    return super.put(bucket, key, body, opts);
  }
}

describe('Config: drive_sources[].user_concurrency', () => {
  it('defaults to 8 and must be 1-64', () => {
    expect(driveSource().user_concurrency).toBe(8);
    expect(driveSource({ user_concurrency: 3 }).user_concurrency).toBe(3);
    expect(() => driveSource({ user_concurrency: 0 })).toThrow(/user_concurrency/);
    expect(() => driveSource({ user_concurrency: 65 })).toThrow(/user_concurrency/);
  });
});

describe('Function: runDriveIngest (user_concurrency)', () => {
  jest.setTimeout(120_000);
  const env = driveTestEnv(64 * 1024);

  it.each([1, 3])('works on at most %i subjects at once, as the config says', async (n) => {
    env.sd.server.latencyMs = 20;
    const store = new SubjectsInFlight(env.t.store);
    const r = await env.run({ store }, { user_concurrency: n });
    expect(r.subjects.length).toBeGreaterThan(3);
    expect(store.max).toBe(n);
  });
});
