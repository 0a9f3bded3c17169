/** Registers `xregion reconcile`; the action lives in ./reconcile, loaded (with the AWS SDK) when it runs. */
import { CommanderError, InvalidArgumentError, type Command } from 'commander';

const actions = () => require('./reconcile') as typeof import('./reconcile');

/** Exit codes: findings, and a run that could not start (bad options, bad config, a deployment that does not match it). */
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

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
  cmd.action((opts) => actions().runReconcileCli(opts));
}
