/**
 * `xregion verify s3://backup-bucket[/prefix]`: audit archives against their manifests and the
 * catalog. The action; ./verifyCommand registers it and loads this module only when it runs.
 */
import { writeFile } from 'node:fs/promises';
import { parseS3Url } from '../../../shared/restore';
import { formatSummary, verifyBackup, type VerifyOptions } from '../../../shared/verify';
import { StatusLine } from '../progress';
import { CliEnv } from './catalog';
import type { EnvOptions } from './options';

interface VerifyCliOptions extends EnvOptions {
  report?: string;
  sample?: number;
  catalog?: string;
  noCatalog?: boolean;
  json?: boolean;
}

/** Runs the audit; returns the exit code (1 on any finding). */
export async function runVerifyCommand(url: string, opts: VerifyCliOptions & { catalog?: string | boolean }): Promise<number> {
  const env = new CliEnv(opts);
  const target = parseS3Url(url);
  // On S3 there is no default catalog bucket: skipping the check must be a choice, not an accident.
  if (env.aws && opts.catalog === undefined) throw new Error('with --aws/--endpoint, give --catalog s3://catalog-bucket[/prefix] to compare the catalog, or --no-catalog to skip it');
  const store = env.storeFor({ bucket: target.bucket });
  let catalog: VerifyOptions['catalog'];
  if (typeof opts.catalog === 'string') {
    const c = parseS3Url(opts.catalog);
    catalog = { store: env.storeFor({ bucket: c.bucket }), bucket: c.bucket, prefix: c.key };
  } else if (opts.catalog !== false && !env.aws) {
    // The embedded default: the catalog bucket of the backup bucket's region.
    const region = env.bucketRegion(target.bucket);
    if (region && env.topology.hasBackupDestination(region)) catalog = { store: env.topology.store(region), bucket: env.topology.catalogBucket(region) };
  }
  const status = new StatusLine(process.stderr);
  const report = await verifyBackup({
    store,
    bucket: target.bucket,
    prefix: target.key,
    ...(catalog && { catalog }),
    ...(opts.sample !== undefined && { sample: opts.sample }),
    onProgress: (p) => status.update(`verify: ${p.archivesDone}/${p.archivesTotal} archives, ${(p.bytes / 1e6).toFixed(1)} MB checked`),
  });
  status.clear();
  if (opts.report) await writeFile(opts.report, `${JSON.stringify(report, null, 2)}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(formatSummary(report));
  return report.ok ? 0 : 1;
}
