/**
 * `npm run soak`: the long form of the randomized soak of the embedded default (the short form
 * runs in `npm test`: test/soak/soak.test.ts). See test/soak/harness.ts and README "Soak".
 *
 *   npm run soak                                  # 40 seeds × 6 kills (240 SIGKILLs)
 *   npm run soak -- --seeds 5 --first-seed 100    # other seeds
 *   npm run soak -- --seed 17 --keep always       # replay one seed, keep its data dir and log
 *   npm run soak -- --ref HEAD                    # soak a commit (git archive), not the working tree
 *   npm run soak -- --known-defect-names          # also keys the archive format refuses (README)
 *   npm run soak -- --kill-weights after-upload=5,quiet=1   # only these kill moments
 *   npm run soak -- --allow-duplicates-after-kill # do not fail on the known regrouped-batch duplicate
 *
 * Prints one line per seed on stderr, the table on stdout, then every problem; exit 1 on any
 * lost, stale, duplicated, catalog, stuck, dead-lettered or misrouted object or a crash. Every
 * seed's result (kills, counts, problems) goes to <work dir>/soak-results.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killAll, prepareRunner, type RunnerKind } from '../test/soak/appliance';
import { formatProblems, formatTable, runSoak, soakOk, type SoakOptions } from '../test/soak/harness';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '40' },
      'first-seed': { type: 'string', default: '1' },
      seed: { type: 'string', multiple: true },
      kills: { type: 'string', default: '6' },
      runner: { type: 'string', default: 'bundle' },
      ref: { type: 'string' },
      'work-dir': { type: 'string' },
      keep: { type: 'string', default: 'failed' },
      'max-large': { type: 'string', default: '2' },
      'poison-every': { type: 'string', default: '4' },
      'known-defect-names': { type: 'boolean', default: false },
      'no-reconcile': { type: 'boolean', default: false },
      'kill-weights': { type: 'string' },
      'allow-duplicates-after-kill': { type: 'boolean', default: false },
    },
  });
  const first = Number(values['first-seed']);
  const seeds = values.seed?.length ? values.seed.flatMap((s) => s.split(',')).map(Number) : Array.from({ length: Number(values.seeds) }, (_, i) => first + i);
  const workDir = values['work-dir'] ?? mkdtempSync(join(tmpdir(), 'xregion-soak-'));
  const poisonEvery = Number(values['poison-every']);
  // e.g. --kill-weights after-upload=5,quiet=1 (modes left out are never drawn)
  const killWeights = values['kill-weights']
    ? (Object.fromEntries(['startup', 'busy', 'in-flight', 'after-upload', 'quiet'].map((m) => [m, Number(new RegExp(`(?:^|,)${m}=(\\d+)`).exec(values['kill-weights']!)?.[1] ?? 0)])) as SoakOptions['killWeights'])
    : undefined;
  const t0 = Date.now();
  const runner = prepareRunner(values.runner as RunnerKind, workDir, { ref: values.ref });
  const code = values.ref ? `git ${values.ref} (${execFileSync('git', ['rev-parse', '--short', values.ref], { encoding: 'utf8' }).trim()})` : 'the working tree';
  process.stderr.write(`soak: ${seeds.length} seeds (${seeds[0]}…${seeds[seeds.length - 1]}), ${values.kills} kills each, runner ${runner.kind} of ${code}, work dir ${workDir}\n`);
  const results = await runSoak({
    seeds,
    kills: Number(values.kills),
    opsStopped: [8, 25],
    opsBurst: [1, 8],
    maxLarge: Number(values['max-large']),
    poison: (_seed, i) => poisonEvery > 0 && i % poisonEvery === poisonEvery - 1,
    runner,
    workDir,
    keep: values.keep as 'always' | 'failed' | 'never',
    knownDefectNames: values['known-defect-names'],
    reconcile: !values['no-reconcile'],
    killWeights,
    allowDuplicatesAfterKill: values['allow-duplicates-after-kill'],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const minutes = ((Date.now() - t0) / 60_000).toFixed(1);
  writeFileSync(join(workDir, 'soak-results.json'), `${JSON.stringify(results, null, 1)}\n`);
  process.stdout.write(`\n${formatTable(results)}\n\nsoak: ${soakOk(results) ? 'OK' : 'FAILED'} in ${minutes} min (runner ${runner.kind} of ${code})\n`);
  const problems = formatProblems(results);
  if (problems) process.stdout.write(`\n${problems}\n`);
  return soakOk(results) ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    killAll();
    process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 2;
  },
);
process.once('SIGINT', () => {
  killAll();
  process.exit(130);
});
