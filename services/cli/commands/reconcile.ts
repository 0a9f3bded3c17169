/**
 * `xregion reconcile`: for operators and auditors, compare every rule's source with every
 * destination (shared/reconcile) on the embedded default or on AWS, print a table per
 * (rule, destination) or one JSON document, and exit 1 on anything missing, different or
 * duplicated. The action; ./reconcileCommand registers it and loads this module only when it runs.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, ruleId } from '../../../shared/config';
import { DEFAULT_SETTLE_MS, formatReport, reconcile, ReconcileError, type ReconcileReport } from '../../../shared/reconcile';
import { buildTopology, type Topology } from '../../../shared/topology';
import { StatusLine } from '../progress';
import { CliEnv } from './catalog';
import { EXIT_FINDINGS, EXIT_USAGE } from './reconcileCommand';

export interface ReconcileCliOptions {
  config: string;
  dataDir: string;
  rule?: string[];
  aws?: boolean;
  endpoint?: string;
  account?: string;
  settledBefore?: string;
  deep?: boolean;
  json?: boolean;
  samples: number;
  concurrency: number;
}

/** Bad options: exit 2, nothing checked. */
export class ReconcileUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconcileUsageError';
  }
}

/** `--rule` values (`bucket/prefix`, with or without `s3://`) → rule ids of the config. */
function selectRules(env: CliEnv, wanted: readonly string[] | undefined): string[] | undefined {
  if (!wanted?.length) return undefined;
  const ids = env.config.replication_configuration.map(ruleId);
  return wanted.map((w) => {
    const v = w.replace(/^s3:\/\//, '');
    const id = ids.find((i) => i === v || i === `${v}/`);
    if (!id) throw new ReconcileUsageError(`--rule ${w}: no such rule in ${env.opts.config} (rules: ${ids.join(', ')})`);
    return id;
  });
}

function settledBefore(value: string | undefined): Date {
  if (value === undefined) return new Date(Date.now() - DEFAULT_SETTLE_MS);
  const t = Date.parse(value);
  if (!Number.isFinite(t)) throw new ReconcileUsageError(`--settled-before ${JSON.stringify(value)} is not an ISO-8601 time (e.g. 2025-07-24T03:00:00Z)`);
  return new Date(t);
}

/** Runs the reconcile and prints the result; returns the exit code (0 clean, 1 findings). Throws on usage or config problems. */
export async function runReconcileCommand(opts: ReconcileCliOptions): Promise<number> {
  const aws = Boolean(opts.aws || opts.endpoint);
  if (aws && !opts.account) throw new ReconcileUsageError('with --aws/--endpoint, give --account <12-digit id>: the outbox, staging and catalog bucket names embed the account the stacks were deployed in');
  if (!aws && opts.account) throw new ReconcileUsageError('--account is for --aws/--endpoint; the embedded default has no account');
  const settled = settledBefore(opts.settledBefore);
  const env = new CliEnv({ config: opts.config, dataDir: opts.dataDir, ...(opts.aws && { aws: true }), ...(opts.endpoint !== undefined && { endpoint: opts.endpoint }) });
  const rules = selectRules(env, opts.rule);
  if (!aws && !existsSync(join(resolve(opts.dataDir), 'regions'))) {
    throw new ReconcileUsageError(`no embedded default under ${opts.dataDir} (run \`xregion start\` first, or give --data-dir, or --aws for S3)`);
  }
  const topology: Topology = aws ? buildTopology(env.config, opts.account!) : env.topology.model;
  const store = (region: string) => (aws ? env.storeFor({ bucket: '', region }) : env.topology.store(region));

  const status = new StatusLine(process.stderr);
  let shown = 0;
  const report: ReconcileReport = await reconcile({
    topology,
    store,
    settledBefore: settled,
    deep: opts.deep ?? false,
    samples: opts.samples,
    concurrency: opts.concurrency,
    ...(rules && { rules }),
    onProgress: (p) => {
      const now = Date.now();
      if (now - shown < 200) return;
      shown = now;
      status.update(`reconcile ${p.rule}: ${p.phase === 'index' ? `${p.done} archive manifests read` : `${p.done} source objects checked`}`);
    },
  }).finally(() => status.clear());
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.ok ? 0 : EXIT_FINDINGS;
}

/** `xregion reconcile`: the exit code of the run, or one line and EXIT_USAGE when it could not start. */
export async function runReconcileCli(opts: ReconcileCliOptions): Promise<void> {
  try {
    process.exitCode = await runReconcileCommand(opts);
  } catch (err) {
    if (!(err instanceof ReconcileUsageError || err instanceof ConfigError || err instanceof ReconcileError)) throw err;
    process.stderr.write(`xregion reconcile: ${err.message}\n`);
    process.exitCode = EXIT_USAGE;
  }
}
