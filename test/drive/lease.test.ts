/** Drive ingestion: one run per source at a time (RunLease on the real local store and sample Drive). */
import { DriveRunLockedError, RunLease, runLeaseKey, RUNS_ROOT, type LeaseDoc } from '../../shared/drive';
import { readAll } from '../helpers/bytes';
import { BUCKET, driveTestEnv, keys } from './helpers';

const BOB = 'bob@acme.example';

describe('Class: RunLease', () => {
  const env = driveTestEnv(64 * 1024, { userFilter: BOB, backoff: { baseMs: 1, capMs: 5, maxAttempts: 2 } });
  const run = env.run;
  const listed = async (prefix: string): Promise<string[]> => keys(env.t.store, prefix);
  const holdLease = (expiresAt: string): Promise<unknown> => {
    const doc: LeaseDoc = { runId: 'other-run', host: 'other-host', pid: 4242, acquiredAt: new Date().toISOString(), expiresAt };
    return env.t.store.put(BUCKET, runLeaseKey('acme'), Buffer.from(JSON.stringify(doc)));
  };

  it('refuses a run while another holds the lease, before any Drive request or write', async () => {
    // Prepare: a live lease of another run
    await holdLease(new Date(Date.now() + 600_000).toISOString());
    const requests: string[] = [];

    // Act
    const refused = run({ onRequest: (what) => requests.push(what) });

    // Assess
    await expect(refused).rejects.toBeInstanceOf(DriveRunLockedError);
    await expect(refused).rejects.toThrow(/run other-run \(other-host, pid 4242\) is still running.*this run made no changes/);
    expect(requests).toEqual([]);
    expect(await listed('gdrive-backup/')).toEqual([]);
    expect(await listed(RUNS_ROOT)).toEqual([]);
  });

  it('takes over an expired lease (its run died), runs, and removes the lease at the end', async () => {
    // Prepare
    await holdLease(new Date(Date.now() - 1000).toISOString());

    // Act
    const r = await run();

    // Assess
    expect(r.subjects.map((s) => s.status)).toEqual(['ok']);
    expect(r.stats.uploaded).toBeGreaterThan(0);
    expect(await listed('_xregion/leases/')).toEqual([]);
  });

  it('lets only one of two simultaneous runs through; a dry run needs no lease', async () => {
    // Act
    const [a, b] = await Promise.allSettled([run(), run()]);
    const dry = await run({ dryRun: true });

    // Assess
    expect([a, b].map((x) => x.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(([a, b].find((x) => x.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(DriveRunLockedError);
    expect(dry.dryRun).toBe(true);
    expect(await listed(RUNS_ROOT)).toHaveLength(1);
  });

  it('stops a run whose lease was taken over mid-run: its subjects end aborted, the other holder keeps the lease', async () => {
    // Prepare: slow requests, so the run is still going at its first renewal (after 1 s)
    env.sd.server.latencyMs = 150;
    const running = run({ leaseTtlMs: 3000 });
    await new Promise((r) => setTimeout(r, 300));

    // Act: another run takes the lease over (as if this one had stalled past its expiry)
    await holdLease(new Date(Date.now() + 600_000).toISOString());
    const r = await running;

    // Assess
    expect(r.subjects.map((s) => s.status)).toEqual(['aborted']);
    const lease = JSON.parse((await readAll((await env.t.store.get(BUCKET, runLeaseKey('acme'))).body)).toString()) as LeaseDoc;
    expect(lease.runId).toBe('other-run');
  }, 30_000);

  it('renews by ETag, and reports a takeover to the holder (which must stop)', async () => {
    // Prepare
    const lost: Error[] = [];
    const lease = await RunLease.acquire(env.t.store, BUCKET, 'acme', 'run-1', { ttlMs: 60_000, onLost: (e) => lost.push(e) });
    const before = lease.holder.expiresAt;
    await new Promise((r) => setTimeout(r, 5));
    await lease.renew();
    const renewed = JSON.parse((await readAll((await env.t.store.get(BUCKET, lease.key)).body)).toString()) as LeaseDoc;

    // Act: another run overwrites it (as after this one stalled past its expiry)
    await holdLease(new Date(Date.now() + 600_000).toISOString());
    const renewal = lease.renew();

    // Assess
    expect(renewed.runId).toBe('run-1');
    expect(Date.parse(renewed.expiresAt)).toBeGreaterThan(Date.parse(before));
    await expect(renewal).rejects.toThrow(/taken over by another run/);
    expect(lost).toHaveLength(1);
    await lease.release(); // not ours any more: left alone
    expect(await listed('_xregion/leases/')).toEqual([runLeaseKey('acme')]);
  });
});
