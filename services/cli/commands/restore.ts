/**
 * `xregion restore`: one object by ranged reads of only its covering frames, or many (a user, a
 * prefix, a catalog query) grouped by archive, to a folder, a bucket or a Drive folder. Safe by
 * default: identical files are skipped, different ones are never overwritten without --overwrite.
 * The action; ./restoreCommand registers it and loads this module only when it runs.
 */
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { CatalogQuery } from '../../../shared/catalog';
import {
  archiveRequests,
  DirectoryTarget,
  DriveTarget,
  latestVersions,
  ObjectStoreTarget,
  parseAsOf,
  parseS3Url,
  relativePath,
  RestoreRequestError,
  runRestore,
  selectionSql,
  type CatalogRowRef,
  type CatalogSelection,
  type RestoreProgress,
  type RestoreRequest,
  type RestoreSummary,
  type RestoreTarget,
} from '../../../shared/restore';
import { AuthFactory, loadDriveCredentials } from '../../../shared/drive';
import { athenaQuery, CliEnv } from './catalog';
import type { AthenaOptions, EnvOptions } from './options';

interface RestoreOptions extends EnvOptions, AthenaOptions {
  to: string;
  archive?: string;
  key?: string;
  objectPath?: string;
  user?: string;
  date?: string;
  prefix?: string;
  query?: string;
  from?: string;
  asOf?: string;
  overwrite?: boolean;
  concurrency: number;
  stats?: boolean;
  json?: boolean;
  catalog?: string;
  convert?: boolean;
  driveCredentials?: string;
  driveRootUrl?: string;
}

/** Full Drive scope: restores create folders and files as the user. */
const DRIVE_SCOPE = 'https://www.googleapis.com/auth/drive';

/** The catalog to look rows up in: Athena, an S3 catalog bucket (copied), or the local one. */
async function openCatalog(env: CliEnv, opts: RestoreOptions): Promise<CatalogQuery> {
  if (opts.athena) return athenaQuery({ ...opts, region: opts.region ?? env.catalogRegion() });
  if (opts.catalog) return env.s3Catalog(parseS3Url(opts.catalog));
  if (env.aws) throw new RestoreRequestError('with --aws, catalog lookups need --catalog s3://catalog-bucket or --athena --workgroup W');
  return env.localCatalog();
}

/** The backup bucket holding a row's archive: the rule's backup destination in the row's region. */
function backupLocation(env: CliEnv, row: CatalogRowRef): { bucket: string; region: string } {
  const targets = Array.isArray(row.target_buckets) ? row.target_buckets : JSON.parse(String(row.target_buckets)) as string[];
  for (const r of env.config.replication_configuration) {
    for (const d of r.destinations) if (d.backup && d.region === row.backup_region && targets.includes(d.bucket)) return { bucket: d.bucket, region: d.region };
  }
  throw new RestoreRequestError(`no backup destination in ${env.opts.config} for region ${row.backup_region} among ${targets.join(', ')}`);
}

async function planFromCatalog(env: CliEnv, opts: RestoreOptions, sel: CatalogSelection): Promise<RestoreRequest[]> {
  const q = await openCatalog(env, opts);
  let rows: CatalogRowRef[];
  try {
    rows = (await q.query(selectionSql(sel))).rows as unknown as CatalogRowRef[];
  } finally {
    await q.close();
  }
  const latest = latestVersions(rows, opts.asOf !== undefined ? parseAsOf(opts.asOf) : undefined);
  if (latest.length === 0) throw new RestoreRequestError(`the catalog has no object matching the selection${opts.asOf ? ` backed up at or before ${opts.asOf}` : ''}`);
  return archiveRequests(latest, (r) => backupLocation(env, r));
}

/** What a plan restores, and the folder markers it leaves out (zero-byte keys ending in `/`). */
interface Plan {
  requests: RestoreRequest[];
  folderMarkers: string[];
}

async function planFromNormal(env: CliEnv, opts: RestoreOptions): Promise<Plan> {
  const from = parseS3Url(opts.from!);
  // A prefix is a folder: `s3://b/gdrive-backup` must not match `gdrive-backup-old/` nor leave a leading '/'.
  const base = from.key && !from.key.endsWith('/') ? `${from.key}/` : from.key;
  if (opts.key !== undefined) return { requests: [{ kind: 'object', bucket: from.bucket, key: base + opts.key, path: opts.key }], folderMarkers: [] };
  const store = env.storeFor({ bucket: from.bucket });
  const out: RestoreRequest[] = [];
  const folderMarkers: string[] = [];
  for await (const o of store.list(from.bucket, base + (opts.prefix ?? ''))) {
    // Console-made "folders" are zero-byte objects named like the folder: not files to restore.
    if (o.key.endsWith('/') && o.size === 0) {
      folderMarkers.push(o.key);
      continue;
    }
    out.push({ kind: 'object', bucket: from.bucket, key: o.key, path: relativePath(o.key, base) });
  }
  if (out.length === 0) throw new RestoreRequestError(`nothing under s3://${from.bucket}/${base}${opts.prefix ?? ''}${folderMarkers.length ? ` (only ${folderMarkers.length} folder marker(s))` : ''}`);
  return { requests: out, folderMarkers };
}

/** What the options ask for, as restore requests. */
async function plan(env: CliEnv, opts: RestoreOptions): Promise<Plan> {
  const modes = [opts.archive, opts.objectPath, opts.user, opts.prefix !== undefined && !opts.from ? opts.prefix : undefined, opts.query, opts.from].filter((v) => v !== undefined);
  if (modes.length !== 1) throw new RestoreRequestError('give exactly one of --archive, --object-path, --user, --prefix, --query, --from');
  if (opts.date !== undefined && opts.user === undefined) throw new RestoreRequestError('--date goes with --user');
  // An option that does not apply to the mode would be silently ignored: refuse it instead.
  if (opts.asOf !== undefined && (opts.archive || opts.from)) throw new RestoreRequestError(`--as-of goes with catalog selections (--object-path, --user, --prefix, --query), not with ${opts.archive ? '--archive' : '--from'}`);
  if (opts.key !== undefined && !opts.archive && !opts.from) throw new RestoreRequestError('--key goes with --archive or --from (catalog selections name objects by --object-path)');
  if (opts.archive) {
    const a = parseS3Url(opts.archive);
    return { requests: [{ kind: 'archive', bucket: a.bucket, key: a.key, ...(opts.key !== undefined && { members: [{ relativeKey: opts.key, path: opts.key }] }) }], folderMarkers: [] };
  }
  if (opts.from) return planFromNormal(env, opts);
  const requests = await planFromCatalog(env, opts, {
    ...(opts.objectPath !== undefined && { objectPath: opts.objectPath }),
    ...(opts.user !== undefined && { user: opts.user }),
    ...(opts.date !== undefined && { date: opts.date }),
    ...(opts.prefix !== undefined && { prefix: opts.prefix }),
    ...(opts.query !== undefined && { query: opts.query }),
  });
  return { requests, folderMarkers: [] };
}

/** The target of `--to`: a folder, `s3://bucket/prefix`, or `drive://user@domain/folderId`. */
async function target(env: CliEnv, to: string, opts: RestoreOptions): Promise<RestoreTarget> {
  if (to.startsWith('drive://')) {
    const m = /^drive:\/\/([^/@]+@[^/]+)\/([^/]+)\/?$/.exec(to);
    if (!m) throw new RestoreRequestError(`--to ${to}: expected drive://user@domain/<folderId> (folder id, or 'root')`);
    const credentials = loadDriveCredentials(opts.driveCredentials !== undefined ? { file: opts.driveCredentials } : {});
    const auth = new AuthFactory(credentials, opts.driveRootUrl, [DRIVE_SCOPE]).forSubject(m[1]!);
    return new DriveTarget({ auth, folderId: m[2]!, ...(opts.driveRootUrl !== undefined && { rootUrl: opts.driveRootUrl }), convert: Boolean(opts.convert) });
  }
  if (opts.convert) throw new RestoreRequestError('--convert goes with --to drive://...');
  if (to.startsWith('s3://')) {
    const u = parseS3Url(to);
    return new ObjectStoreTarget(env.storeFor({ bucket: u.bucket }), u.bucket, u.key);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(to)) throw new RestoreRequestError(`--to ${to}: unsupported target (a folder, s3://bucket/prefix or drive://user@domain/folderId)`);
  return new DirectoryTarget(resolve(to));
}

function progressBar(): { update: (p: RestoreProgress) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({
    stream: process.stderr,
    hideCursor: true,
    format: ' {bar} {files}/{filesTotal} files | {mb}/{mbTotal} MB | {rate} MB/s | ETA {eta_formatted}',
    etaBuffer: 50,
  });
  const started = Date.now();
  let running = false;
  let last = 0;
  const payload = (p: RestoreProgress) => ({
    files: p.filesDone,
    filesTotal: p.filesTotal,
    mb: (p.bytesDone / 1e6).toFixed(1),
    mbTotal: (p.bytesTotal / 1e6).toFixed(1),
    rate: (p.bytesDone / 1e6 / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1),
  });
  return {
    update: (p) => {
      if (!running) {
        bar.start(Math.max(1, p.bytesTotal), 0, payload(p));
        running = true;
      }
      const now = Date.now();
      if (now - last < 100 && p.filesDone < p.filesTotal) return;
      last = now;
      bar.update(p.bytesDone, payload(p));
    },
    stop: () => running && bar.stop(),
  };
}

function printSummary(s: RestoreSummary, folderMarkers: string[], opts: RestoreOptions): void {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ...s, skippedFolderMarkers: folderMarkers }, null, 2)}\n`);
  } else {
    if (folderMarkers.length > 0) process.stderr.write(`skipped ${folderMarkers.length} folder marker(s) (zero-byte keys ending in '/'): ${folderMarkers.slice(0, 5).join(', ')}${folderMarkers.length > 5 ? ', …' : ''}\n`);
    for (const o of s.outcomes) if (o.status === 'conflict' || o.status === 'failed') process.stderr.write(`${o.status}: ${o.path}: ${o.error}\n`);
    process.stderr.write(
      `restored ${s.restored} file(s) (${s.bytesWritten} bytes), ${s.identical} already identical, ${s.conflicts} conflict(s), ${s.failed} failed, from ${s.archives} archive(s)\n`,
    );
  }
  if (opts.stats) {
    const pct = s.archiveBytes > 0 ? ((100 * s.bytesRead) / s.archiveBytes).toFixed(3) : 'n/a';
    process.stderr.write(`read ${s.bytesRead} bytes of ${s.archiveBytes} archive bytes (${pct}%)\n`);
  }
}

/** Runs a restore; returns the exit code (1 when anything failed or conflicted). */
export async function runRestoreCommand(opts: RestoreOptions): Promise<number> {
  const env = new CliEnv(opts);
  const { requests, folderMarkers } = await plan(env, opts);
  const to = await target(env, opts.to, opts);
  const bar = progressBar();
  let summary: RestoreSummary;
  try {
    summary = await runRestore(requests, { storeFor: (w) => env.storeFor(w), target: to, overwrite: Boolean(opts.overwrite), concurrency: opts.concurrency, onProgress: bar.update });
  } finally {
    bar.stop();
    await to.close?.();
  }
  printSummary(summary, folderMarkers, opts);
  return summary.failed + summary.conflicts > 0 ? 1 : 0;
}
