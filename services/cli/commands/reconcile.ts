/**
 * `xregion reconcile`: for operators and auditors, compare every rule's source with every
 * destination (shared/reconcile) on the embedded default or on AWS, print a table per
 * (rule, destination) or one JSON document, and exit 1 on anything missing, different or
 * duplicated.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CommanderError, InvalidArgumentError, type Command } from 'commander';
import { ConfigError, ruleId } from '../../../shared/config';
import { DEFAULT_SETTLE_MS, formatReport, reconcile, ReconcileError, type ReconcileReport } from '../../../shared/reconcile';
import { buildTopology, type Topology } from '../../../shared/topology';
import { StatusLine } from '../progress';
import { CliEnv } from './catalog';

/** Exit codes: findings, and a run that could not start (bad options, bad config, a deployment that does not match it). */
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

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

function intRange(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer ${min}..${max}`);
    return n;
  };
}

const collect = (v: string, prior: string[] = []) => [...prior, v];

export function registerReconcileCommand(program: Command): void {
  const cmd = program
    .command('reconcile')
    .description('compare every rule\'s source with each destination: ok / missing / different / extra / skipped / in_flight / duplicated; exit 1 on any missing, different or duplicated')
    .option('--rule <bucket/prefix>', 'only this rule (repeatable; the rule id `config check` prints)', collect)
    .option('-c, --config <file>', 'replication config', 'replication_config.json')
    .option('--data-dir <dir>', 'embedded default data folder', '.xregion')
    .option('--aws', 'reconcile on S3 (default: the embedded default under --data-dir)')
    .option('--endpoint <url>', 'S3-compatible endpoint (implies --aws), e.g. http://127.0.0.1:5000')
    .option('--account <id>', 'with --aws: the AWS account of the deployment (bucket names embed it)')
    .option('--settled-before <time>', 'objects modified after this ISO-8601 time are in_flight, not missing (default: 5 minutes ago)')
    .option('--deep', 'read and hash every source object (default: compare recorded sha256, else ETag, else size)')
    .option('--json', 'print one JSON report instead of the table')
    .option('--samples <n>', 'keys listed per non-ok class and destination', intRange(0, 10_000), 5)
    .option('--concurrency <n>', 'object checks (HEADs, hashes) at once', intRange(1, 256), 16)
    .addHelpText(
      'after',
      `
Classes: ok (same key and sha256; backup: a catalog row and a manifest entry in an archive that
exists), missing, different (the key is there with other content), extra (at the destination with
no source object; for backups, objects deleted at the source whose backup is kept), skipped (the
pipeline skipped it on purpose, with the reason), in_flight (changed after --settled-before, or in
an archive still on its way), duplicated (backup: one object version in two or more archives).

Exit status: 0 when nothing is missing, different or duplicated (extra, skipped and in_flight are
reported but do not fail); 1 on any missing, different or duplicated object, or when the run
fails part way (the error on stderr); 2 on bad options, an invalid config, or a source bucket
that does not exist.

On S3, source objects not written by xregion carry no sha256: the fast mode then compares the
ETag, else only the size (counted and reported as "compared by size only"); --deep hashes them.
Memory: listings are streamed; per rule, the archive manifests' and catalog rows' keys are held.`,
    );
  // Usage errors (unknown option, missing value) exit 2 like every other usage problem. Commander
  // copies the program's exit callback to the command; keep honouring it (tests throw instead of exiting).
  const inherited = (cmd as unknown as { _exitCallback?: (err: CommanderError) => void })._exitCallback;
  cmd.exitOverride((err) => {
    const code = err.exitCode === 0 ? 0 : EXIT_USAGE;
    if (inherited) inherited(new CommanderError(code, err.code, err.message));
    process.exit(code);
  });
  cmd.action(async (opts: ReconcileCliOptions) => {
    try {
      process.exitCode = await runReconcileCommand(opts);
    } catch (err) {
      if (!(err instanceof ReconcileUsageError || err instanceof ConfigError || err instanceof ReconcileError)) throw err;
      process.stderr.write(`xregion reconcile: ${err.message}\n`);
      process.exitCode = EXIT_USAGE;
    }
  });
}
