/**
 * Drive ingestion: errors classified once (issue 14, bullet 3) — a per-file download quota fails
 * that file only, a corrupt service-account key is one permanent error with no backoff, and a dead
 * local lease holder is taken over at once. Real googleapis against the sample Drive.
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { DriveCredentialsError, runLeaseKey, RunLease, type LeaseDoc } from '../../shared/drive';
import { BUCKET, driveTestEnv, fakeServiceAccount } from './helpers';

const P = 'gdrive-backup/';
const BOB = 'bob@acme.example';

/** The pid of a process that has just exited on this host (so it is certainly not running). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('Function: runDriveIngest (error classes)', () => {
  const env = driveTestEnv(64 * 1024, { backoff: { baseMs: 200, capMs: 2000 } });
  const run = env.run;

  describe('Method: per-file quota', () => {
    it('fails only the file whose downloadQuotaExceeded answers, and the user goes on', async () => {
      // Prepare: one of bob's photos has used up its download quota
      const photo = [...env.sd.server.ws.files.values()].find((f) => f.name === 'IMG_002.jpg')!;
      env.sd.server.faults.set([{ kind: 'downloadQuota', match: `${photo.id}\\?.*alt=media` }]);

      // Act
      const r = await run({ userFilter: BOB });

      // Assess
      const bob = r.subjects[0];
      expect(bob.status).toBe('partial');
      expect(bob.stats.failed).toBe(1);
      expect(bob.events).toContainEqual(expect.objectContaining({ type: 'failed', fileId: photo.id, reason: expect.stringContaining('downloadQuotaExceeded') }));
      expect(bob.stats.uploaded).toBeGreaterThanOrEqual(6); // the other photos, the records, flagged.zip...
      expect(env.sd.server.faults.fired.downloadQuota).toBe(1); // not retried in this run

      // Act: the quota clears; the next run fetches the failed file
      env.sd.server.faults.set([]);
      const r2 = await run({ userFilter: BOB });

      // Assess
      expect(r2.subjects[0].status).toBe('ok');
      expect((await env.t.store.head(BUCKET, `${P}${BOB}/Photos/2024/IMG_002.jpg`)).size).toBe(photo.size);
    });
  });

  describe('Method: credentials', () => {
    it('stops on a corrupt service-account key with one permanent error, no backoff and no Drive request', async () => {
      // Prepare: a key whose PEM body is garbage
      const corrupt = { ...fakeServiceAccount(), private_key: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n' };
      const retries: unknown[] = [];
      const requests: string[] = [];
      const started = Date.now();

      // Act
      const err = await run({ credentials: corrupt, backoff: { baseMs: 500, capMs: 32_000, onRetry: (i) => retries.push(i) }, onRequest: (w) => requests.push(w) }).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(DriveCredentialsError);
      expect((err as Error).message).toMatch(/private_key is not a valid private key/);
      expect((err as Error).message).not.toContain('bm90IGEga2V5');
      expect(retries).toEqual([]);
      expect(requests).toEqual([]);
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('stops the whole run once when the token endpoint refuses the service account itself', async () => {
      // Prepare: the sample token endpoint answers invalid_client to an unknown service account
      const unknown = { ...fakeServiceAccount(), client_email: 'revoked@example-project.iam.gserviceaccount.com' };
      env.sd.server.revokedClients.add(unknown.client_email);
      const retries: unknown[] = [];

      // Act
      const err = await run({ credentials: unknown, backoff: { baseMs: 500, capMs: 32_000, onRetry: (i) => retries.push(i) } }).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(DriveCredentialsError);
      expect((err as Error).message).toMatch(/invalid_client/);
      expect(retries).toEqual([]);
      expect(env.sd.stats.token).toBe(1);
    });
  });

  describe('Method: lease liveness', () => {
    const holdLease = (doc: Partial<LeaseDoc>) =>
      env.t.store.put(BUCKET, runLeaseKey('acme'), Buffer.from(JSON.stringify({ runId: 'killed-run', host: hostname(), pid: deadPid(), acquiredAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 600_000).toISOString(), ...doc })));

    it('takes over at once, with a message, a live-looking lease whose holder on this host is not running (SIGKILL)', async () => {
      // Prepare: the lease of a killed run, not yet expired
      await holdLease({});

      // Act
      const r = await run({ userFilter: BOB });

      // Assess
      expect(r.subjects.map((s) => s.status)).toEqual(['ok']);
      expect(r.notices).toEqual([expect.stringMatching(/took over the run lease of run killed-run .*pid \d+ is not running on this host/)]);
    });

    it('still refuses a lease held by a running process of this host', async () => {
      // Prepare: this very process holds it, as another run would
      await holdLease({ pid: process.pid, runId: 'live-run' });

      // Act / Assess
      await expect(run({ userFilter: BOB })).rejects.toThrow(/run live-run .* is still running/);
    });

    it('renews far more often than 15 minutes and expires soon after the heartbeat stops', async () => {
      // Act
      const lease = await RunLease.acquire(env.t.store, BUCKET, 'acme', 'run-ttl');
      const doc = lease.holder;
      await lease.release();

      // Assess: the default lease lasts 2 minutes and is renewed every 30 s
      expect(Date.parse(doc.expiresAt) - Date.parse(doc.acquiredAt)).toBe(120_000);
      expect(lease.renewEveryMs).toBe(30_000);
    });
  });
});
