/**
 * The short form of the soak (the long form is `npm run soak`, bench/soak.ts): two seeded random
 * topologies, each fed random files with hostile names, overwrites, moves and deletes while the
 * appliance (`xregion start --watch`, a child process) is SIGKILLed three times and restarted,
 * then drained by a plain `xregion start`. Nothing may be lost, stale, duplicated, stuck,
 * dead-lettered (but the malformed message planted on the second seed) or misrouted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, prepareRunner } from './appliance';
import { formatProblems, formatTable, runSoak, soakOk } from './harness';

/** Seed 3: 4 rules over 5 regions, 4 of them both source and target, a chain, suffix filters; seed 26: 4 rules over 2 regions, two rules on one bucket, a chain, 3 backup destinations. */
const SEEDS = [3, 26];

describe('Soak: the embedded default under SIGKILL (short form)', () => {
  let workDir: string;
  let passed = false;

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'xregion-soak-test-'));
  });

  afterAll(() => {
    killAll();
    // A failed run keeps its seeds' data dirs and appliance logs for a look.
    if (passed) rmSync(workDir, { recursive: true, force: true });
  });

  it(`loses, duplicates and strands nothing over ${SEEDS.length} random topologies × 3 kills`, async () => {
    // Prepare
    const runner = prepareRunner('bundle', workDir);
    // Act
    const results = await runSoak({
      seeds: SEEDS,
      kills: 3,
      opsStopped: [6, 14],
      opsBurst: [1, 5],
      maxLarge: 1,
      poison: (_seed, i) => i === 1,
      killWeights: { startup: 1, busy: 1, 'in-flight': 2, 'after-upload': 1, quiet: 1 },
      // A kill between an upload and its acknowledgement can make the compressor archive a
      // regrouped batch again (README "Soak": a known duplicate, reported by `npm run soak`).
      // Counted here too, but only a duplicate no kill explains fails this test.
      allowDuplicatesAfterKill: true,
      runner,
      workDir,
      keep: 'failed',
    });
    // Assess
    passed = soakOk(results);
    expect(passed ? 'ok' : `${formatTable(results)}\n\n${formatProblems(results)}\n(data dirs kept under ${workDir})`).toBe('ok');
    for (const r of results) {
      expect(r.kills).toHaveLength(3);
      expect(r.check.counts.checked).toBeGreaterThan(0);
    }
    expect(results[1]!.poisoned).toBe(true);
  }, 120_000);
});
