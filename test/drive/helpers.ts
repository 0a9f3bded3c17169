/** Shared set-up for the Drive tests: a sample Drive, a local object store, a source config. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type DriveSource } from '../../shared/config';
import { startSampleDrive, type SampleDrive } from '../../services/sample-drive';
import { runDriveIngest, type DriveIngestOptions, type DriveRunReport, type ServiceAccountCredentials } from '../../shared/drive';
import { LocalObjectStore } from '../../shared/storage/local/LocalObjectStore';
import type { ObjectStore, PutOptions, PutResult } from '../../shared/storage/port';

export const BUCKET = 'acme-drive-landing';

let cachedKey: string | undefined;
/** A throwaway RSA key (fake service account; the sample Drive does not check signatures). */
export function fakeServiceAccount(): ServiceAccountCredentials {
  cachedKey ??= generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { type: 'service_account', client_email: 'xregion-test@example-project.iam.gserviceaccount.com', private_key: cachedKey };
}

/** A validated drive source with test-friendly defaults and `over` applied. */
export function driveSource(over: Record<string, unknown> = {}): DriveSource {
  const { config } = parseConfig({
    drive_sources: [{
      name: 'acme', domain: 'acme.example', admin_subject: 'admin@acme.example', users: 'all', shared_drives: true,
      exclude_patterns: ['*.tmp'], max_file_size_mb: 0,
      target: { region: 'us-west-2', bucket: BUCKET, prefix: 'gdrive-backup/' }, ...over,
    }],
    replication_configuration: [{
      source: { region: 'us-west-2', bucket: BUCKET, prefix_filter: 'gdrive-backup/' },
      destinations: [{ region: 'eu-central-1', bucket: 'acme-backup-eu' }],
    }],
  });
  return config.drive_sources[0];
}

export interface TempStore {
  store: LocalObjectStore;
  dir: string;
  cleanup(): void;
}

export async function tempStore(): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), 'xregion-drive-test-'));
  const store = new LocalObjectStore({ root: dir });
  await store.ensureBucket(BUCKET);
  return { store, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** All keys in the bucket under a prefix. */
export async function keys(store: ObjectStore, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(BUCKET, prefix)) out.push(o.key);
  return out;
}

/** Wraps a store: counts puts per key, and can fail every put after the first `failAfter`. */
export class CountingStore implements ObjectStore {
  readonly puts = new Map<string, number>();
  failAfter = Infinity;
  private n = 0;
  constructor(private readonly inner: ObjectStore) {}
  head: ObjectStore['head'] = (...a) => this.inner.head(...a);
  get: ObjectStore['get'] = (...a) => this.inner.get(...a);
  getRange: ObjectStore['getRange'] = (...a) => this.inner.getRange(...a);
  copy: ObjectStore['copy'] = (...a) => this.inner.copy(...a);
  list: ObjectStore['list'] = (...a) => this.inner.list(...a);
  delete: ObjectStore['delete'] = (...a) => this.inner.delete(...a);
  async put(bucket: string, key: string, body: Parameters<ObjectStore['put']>[2], opts?: PutOptions): Promise<PutResult> {
    if (++this.n > this.failAfter) {
      if (typeof (body as NodeJS.ReadableStream).resume === 'function') (body as NodeJS.ReadableStream).resume();
      throw new Error('simulated crash: store unavailable');
    }
    const r = await this.inner.put(bucket, key, body, opts);
    this.puts.set(key, (this.puts.get(key) ?? 0) + 1);
    return r;
  }
  /** Puts of backup objects only (not state or run records). */
  contentPuts(): Map<string, number> {
    return new Map([...this.puts].filter(([k]) => !k.startsWith('_xregion/')));
  }
}

/** A sample Drive and an empty local store, fresh for each test of the enclosing describe; read them inside tests. */
export interface DriveTestEnv {
  sd: SampleDrive;
  t: TempStore;
  /** runDriveIngest against this env: the describe's defaults, then the test's options and source settings. */
  run(over?: Partial<DriveIngestOptions>, src?: Record<string, unknown>): Promise<DriveRunReport>;
}

/** Registers beforeEach/afterEach that start and stop a DriveTestEnv. */
export function driveTestEnv(largeFileBytes: number, defaults: Partial<DriveIngestOptions> = {}, baseSource: Record<string, unknown> = {}): DriveTestEnv {
  const env = {
    run: (over: Partial<DriveIngestOptions> = {}, src: Record<string, unknown> = {}) =>
      runDriveIngest({ source: driveSource({ ...baseSource, ...src }), store: env.t.store, credentials: fakeServiceAccount(), rootUrl: env.sd.url, ...defaults, ...over }),
  } as DriveTestEnv;
  beforeEach(async () => {
    env.sd = await startSampleDrive({ largeFileBytes });
    env.t = await tempStore();
  });
  afterEach(async () => {
    await env.sd.close();
    env.t.cleanup();
  });
  return env;
}
