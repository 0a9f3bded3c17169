/**
 * The randomized soak of the embedded default (issue "Delivery core", item 8). Per seed:
 *
 * 1. a random valid topology (topology.ts) written as replication_config.json in a fresh dir;
 * 2. `kills` rounds: random files dropped into the source bucket folders while the appliance is
 *    stopped, `xregion start --watch` as a child process, more files dropped while it runs, then
 *    SIGKILL at a random moment (during start-up, in the middle of work, or once it went quiet;
 *    never more than two in-the-middle kills in a row, so no message is crashed into its
 *    dead-letter queue by kills alone). What was in flight is read from the persisted queues;
 *    one malformed message is planted in a compressor queue on some seeds;
 * 3. a last batch of files, then a plain `xregion start` that drains everything and exits (run
 *    again while the planted message has not reached its dead-letter queue yet: each run
 *    receives it once, the queue moves it on the sixth);
 * 4. the checks of check.ts, and the reconcile engine's verdict when shared/reconcile is there.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { ApplianceProcess, plantMalformedMessage, readQueues, type Runner } from './appliance';
import { checkDataDir, FAILING, reconcileVerdict, type CheckResult } from './check';
import { SourceObjects, type OpCounts } from './objects';
import { Rng } from './rng';
import { BATCH_RECORDS_PREFIX, QUARANTINE_PREFIX, RECORDS_PREFIX, type Topology } from '../../shared/topology';
import { describeTopology, soakTopology, type TopologyFeatures } from './topology';

export interface SoakOptions {
  seeds: readonly number[];
  /** SIGKILLs per seed (each of a `start --watch`). */
  kills: number;
  /** Operations applied while the appliance is stopped, before each run (min, max). */
  opsStopped: [number, number];
  /** Operations per burst while it runs (min, max). */
  opsBurst: [number, number];
  /** Files of 8–20 MiB per seed. */
  maxLarge: number;
  /** Plant a malformed message on this seed? */
  poison: (seed: number, index: number) => boolean;
  runner: Runner;
  /** Each seed gets `<workDir>/seed-<n>/`. */
  workDir: string;
  /** Keep a seed's dir: always, only when it failed (default), never. */
  keep?: 'always' | 'failed' | 'never';
  /** Also write keys the archive format refuses (drive letters, leading backslash): see README. */
  knownDefectNames?: boolean;
  /**
   * Do not fail on duplicates a kill explains (the compressor's known regrouped-batch duplicate:
   * README "Soak"); they are still counted and printed. Any other duplicate fails. Default false.
   */
  allowDuplicatesAfterKill?: boolean;
  /** Run shared/reconcile's engine too (default true). */
  reconcile?: boolean;
  settleSeconds?: number;
  /** How often each kind of kill moment is drawn (default DEFAULT_KILL_WEIGHTS); two non-quiet kills in a row are followed by a quiet one. */
  killWeights?: Record<KillRecord['mode'], number>;
  /** Limit of one final drain (default 5 min). */
  finalTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface KillRecord {
  run: number;
  mode: 'startup' | 'busy' | 'in-flight' | 'after-upload' | 'quiet';
  /** Epoch ms of the spawn and of the kill. */
  startedAt: number;
  killedAt: number;
  /** ms after spawn. */
  atMs: number;
  /** Messages received before the kill and not deleted: each is received again after the restart. */
  inFlight: { compressor: number; router: number };
  /** Archives in an outbox or inbound staging bucket at the kill (between stages). */
  betweenStages: number;
  /** in-flight kills: ms from the burst's end until a held message was seen (5000: none seen). */
  heldAfterMs?: number;
  /** after-upload kills: the outbox file whose arrival fired the kill (none: killed after 6 s). */
  trigger?: string;
  /** The process had already exited on its own (a crash). */
  exitedEarly?: string;
  quietTimeout?: boolean;
}

export interface SeedResult {
  seed: number;
  features: TopologyFeatures;
  topology: string;
  keys: number;
  writes: number;
  ops: OpCounts;
  kills: KillRecord[];
  redeliveries: number;
  /** Plain runs after the first final one, until the planted message was dead-lettered. */
  extraRuns: number;
  poisoned: boolean;
  /** Crashes (exits before a kill), final drains that timed out or failed unexpectedly. */
  crashes: string[];
  check: CheckResult;
  reconcile?: { missing: number; different: number; duplicated: number; report: string } | { error: string };
  seconds: number;
  dir: string;
  kept: boolean;
  ok: boolean;
}

export const DEFAULT_KILL_WEIGHTS: Record<KillRecord['mode'], number> = { startup: 1, busy: 3, 'in-flight': 3, 'after-upload': 2, quiet: 2 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Archives in outboxes and inbound staging buckets (not yet replicated or routed; records and quarantine left out). */
function archivesOnTheirWay(dataDir: string, model: Topology): number {
  let n = 0;
  for (const r of model.regions) {
    for (const bucket of [r.outbox, r.router?.staging]) {
      const dir = join(dataDir, 'regions', r.region, bucket ?? '');
      if (!bucket || !existsSync(dir)) continue;
      for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
        const key = relative(dir, join(e.parentPath, e.name)).split(sep).join('/');
        if (e.isFile() && key.endsWith('.tar.zst') && !key.startsWith(RECORDS_PREFIX) && !key.startsWith(QUARANTINE_PREFIX)) n++;
      }
    }
  }
  return n;
}

/** Watches every outbox for an archive (or a batch record) being placed; calls back with its key. */
function watchOutboxes(dataDir: string, model: Topology, what: 'archive' | 'record', onFile: (key: string) => void): FSWatcher[] {
  const out: FSWatcher[] = [];
  for (const r of model.regions) {
    if (!r.outbox) continue;
    const dir = join(dataDir, 'regions', r.region, r.outbox);
    if (!existsSync(dir)) continue;
    out.push(
      watch(dir, { recursive: true }, (_event, name) => {
        const key = name?.split(sep).join('/');
        if (!key) return;
        const isRecord = key.startsWith(BATCH_RECORDS_PREFIX) && key.endsWith('.json');
        const isArchive = !key.startsWith(RECORDS_PREFIX) && key.endsWith('.tar.zst');
        if ((what === 'record' && isRecord) || (what === 'archive' && isArchive)) onFile(`s3://${r.outbox}/${key}`);
      }),
    );
  }
  return out;
}

/** True when a work queue holds a message that was received and not deleted (cheap: the receive journal and the file names only). */
function messageHeld(dataDir: string, poisonId: string | undefined): boolean {
  const root = join(dataDir, 'queues');
  if (!existsSync(root)) return false;
  for (const queue of readdirSync(root)) {
    if (queue.endsWith('-dlq')) continue;
    let journal: string;
    let files: Set<string>;
    try {
      journal = readFileSync(join(root, queue, 'receives.log'), 'utf8');
      files = new Set(readdirSync(join(root, queue)));
    } catch {
      continue;
    }
    for (const line of journal.split('\n')) {
      const id = line.split(' ')[0];
      if (id && id !== poisonId && files.has(`${id}.json`)) return true;
    }
  }
  return false;
}

/** True when nothing is left to do: first pass done, no message but the planted one, no archive on its way, no recent write. */
function quietNow(dataDir: string, model: Topology, poisonId: string | undefined, objects: SourceObjects, p: ApplianceProcess): boolean {
  if (!p.idle || Date.now() - objects.lastWriteAt < 2500) return false;
  return readQueues(dataDir).every((m) => m.deadLetter || m.id === poisonId) && archivesOnTheirWay(dataDir, model) === 0;
}

export async function runSeed(seed: number, index: number, opts: SoakOptions): Promise<SeedResult> {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  const rng = new Rng(seed);
  const topo = soakTopology(seed);
  const dir = join(opts.workDir, `seed-${seed}`);
  rmSync(dir, { recursive: true, force: true });
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const configPath = join(dir, 'replication_config.json');
  writeFileSync(configPath, `${JSON.stringify(topo.raw, null, 2)}\n`);
  const logFile = join(dir, 'appliance.log');
  const settleSeconds = opts.settleSeconds ?? 0.2;
  const objects = new SourceObjects(topo.config.replication_configuration, dataDir, join(dir, 'drop-tmp'), rng.fork(2), {
    maxLarge: opts.maxLarge,
    knownDefectNames: opts.knownDefectNames,
  });
  const describe = describeTopology(topo.features);
  log(`seed ${seed}: ${describe} (${dir})`);

  const kills: KillRecord[] = [];
  const crashes: string[] = [];
  const counted = new Map<string, number>();
  const routerQueues = new Set(topo.model.regions.flatMap((r) => (r.router ? [r.router.queue.name] : [])));
  let redeliveries = 0;
  const poisoned = opts.poison(seed, index);
  // Planted before the first run: every later start receives it once, the sixth moves it on.
  const poisonRun = poisoned ? 0 : -1;
  let poison: { queue: string; id: string } | undefined;
  const plan = rng.fork(3);
  let busyStreak = 0;
  const start = (watch: boolean, label: string) => new ApplianceProcess(opts.runner, { dataDir, config: configPath, watch, settleSeconds, logFile, label });

  for (let run = 0; run < opts.kills; run++) {
    await objects.apply(plan.int(...opts.opsStopped), false);
    if (run === poisonRun) {
      const queue = plan.pick(topo.model.regions.flatMap((r) => r.compressors.map((c) => c.queue.name)));
      poison = { queue, id: plantMalformedMessage(dataDir, queue, seed).id };
    }
    const mode: KillRecord['mode'] = busyStreak >= 2 ? 'quiet' : plan.weighted(opts.killWeights ?? DEFAULT_KILL_WEIGHTS);
    busyStreak = mode === 'quiet' ? 0 : busyStreak + 1;
    const p = start(true, `seed ${seed} run ${run} (${mode} kill)`);
    let quietTimeout = false;
    let heldAfterMs: number | undefined;
    let trigger: string | undefined;
    if (mode === 'quiet') {
      for (let b = plan.int(0, 2); b > 0 && p.running; b--) {
        await sleep(plan.int(50, 600));
        await objects.apply(plan.int(...opts.opsBurst), true);
      }
      const deadline = Date.now() + 60_000;
      let streak = 0;
      while (p.running && streak < 2) {
        if (Date.now() > deadline) {
          quietTimeout = true;
          break;
        }
        await sleep(150);
        streak = quietNow(dataDir, topo.model, poison?.id, objects, p) ? streak + 1 : 0;
      }
      await sleep(plan.int(0, 300));
    } else if (mode === 'startup') {
      // During start-up and the first pass over the backlog (the files dropped while it was down, the redelivered messages).
      const killAt = p.startedAt + plan.int(250, 1600);
      while (p.running && Date.now() < killAt) await sleep(Math.min(50, killAt - Date.now()));
    } else {
      // In the middle of work: once the backlog is done, a burst of files, then a kill while the
      // scan (every second), the compressors, the replicator or the routers are at them: at a
      // random time (busy), or as soon as a message is held (in-flight: the kill lands between a
      // receive and its delete, where redelivery has to do its work).
      const idleBy = Date.now() + 4000;
      while (p.running && !p.idle && Date.now() < idleBy) await sleep(50);
      // after-upload: killed from the filesystem event of an archive (or its batch record) landing
      // in an outbox, i.e. between the compressor's upload and its acknowledgement.
      const watchers =
        mode === 'after-upload'
          ? watchOutboxes(dataDir, topo.model, plan.chance(0.5) ? 'archive' : 'record', (file) => {
              if (!p.running || trigger) return;
              p.child.kill('SIGKILL');
              trigger = file;
            })
          : [];
      for (let b = plan.int(1, 2); b > 0 && p.running; b--) {
        await objects.apply(plan.int(opts.opsBurst[0] + 2, opts.opsBurst[1] + 4), true);
        if (b > 1) await sleep(plan.int(100, 900));
      }
      if (mode === 'after-upload') {
        const giveUp = Date.now() + 6000;
        while (p.running && Date.now() < giveUp) await sleep(20);
        for (const w of watchers) w.close();
      } else if (mode === 'busy') {
        const killAt = Date.now() + plan.int(150, 2500);
        while (p.running && Date.now() < killAt) await sleep(Math.min(50, killAt - Date.now()));
      } else {
        const from = Date.now();
        while (p.running && Date.now() < from + 5000 && !messageHeld(dataDir, poison?.id)) await sleep(5);
        heldAfterMs = Date.now() - from;
        await sleep(plan.int(0, 40));
      }
    }
    const killedAt = Date.now();
    const atMs = killedAt - p.startedAt;
    const exitedEarly = p.running || trigger ? undefined : `exit ${p.exit?.code ?? p.exit?.signal} after ${((p.exitedAt! - p.startedAt) / 1000).toFixed(1)} s: ${p.lastLines(4)}`;
    await p.kill();
    if (exitedEarly) crashes.push(`run ${run}: the watching appliance ${exitedEarly}`);
    // What it held: received (count up since we last looked) and not deleted.
    const inFlight = { compressor: 0, router: 0 };
    for (const m of readQueues(dataDir)) {
      if (m.deadLetter || m.testEvent || m.id === poison?.id || m.receiveCount <= (counted.get(m.id) ?? 0)) continue;
      counted.set(m.id, m.receiveCount);
      inFlight[routerQueues.has(m.queue) ? 'router' : 'compressor']++;
    }
    redeliveries += inFlight.compressor + inFlight.router;
    kills.push({ run, mode, startedAt: p.startedAt, killedAt, atMs, inFlight, betweenStages: archivesOnTheirWay(dataDir, topo.model), ...(heldAfterMs !== undefined && { heldAfterMs }), ...(trigger && { trigger }), ...(exitedEarly && { exitedEarly }), ...(quietTimeout && { quietTimeout }) });
  }

  // The last batch, then a plain start that drains everything and exits.
  await objects.apply(plan.int(...opts.opsStopped), false);
  const finalTimeout = opts.finalTimeoutMs ?? 300_000;
  let extraRuns = 0;
  for (let attempt = 0; ; attempt++) {
    const p = start(false, `seed ${seed} final drain${attempt ? ` (again, ${attempt})` : ''}`);
    const r = await p.wait(finalTimeout);
    const poisonDead = poison !== undefined && readQueues(dataDir).some((m) => m.deadLetter && m.id === poison!.id);
    const poisonWaiting = poison !== undefined && readQueues(dataDir).some((m) => !m.deadLetter && m.id === poison!.id);
    if (r.timedOut) crashes.push(`final drain ${attempt}: did not exit within ${finalTimeout / 1000} s (killed): ${p.lastLines(4)}`);
    // A planted malformed message is a failure of every run that receives it (start exits 1) until it is dead-lettered.
    else if (r.code !== 0 && !((poisonDead || poisonWaiting) && r.code === 1)) crashes.push(`final drain ${attempt}: exit ${r.code ?? r.signal}: ${p.lastLines(6)}`);
    if (!poisonWaiting || attempt >= 7 || r.timedOut) break;
    extraRuns++;
  }

  const check = await checkDataDir({ dataDir, model: topo.model, objects, poison, kills });
  const reconcile = opts.reconcile === false ? undefined : await reconcileVerdict(dataDir, topo.model);
  const c = check.counts;
  const ok = crashes.length === 0 && FAILING.every((k) => (k === 'duplicated' && opts.allowDuplicatesAfterKill ? c.duplicated - c.duplicatedAfterKill : c[k]) === 0);
  const keep = opts.keep ?? 'failed';
  const kept = keep === 'always' || (keep === 'failed' && !ok);
  if (!kept) rmSync(dir, { recursive: true, force: true });
  const result: SeedResult = {
    seed,
    features: topo.features,
    topology: describe,
    keys: objects.written,
    writes: objects.writes,
    ops: objects.counts,
    kills,
    redeliveries,
    extraRuns,
    poisoned,
    crashes,
    check,
    reconcile,
    seconds: (Date.now() - started) / 1000,
    dir,
    kept,
    ok,
  };
  log(`seed ${seed}: ${ok ? 'ok' : 'FAILED'} in ${result.seconds.toFixed(1)} s — ${summaryLine(result)}`);
  return result;
}

function summaryLine(r: SeedResult): string {
  const c = r.check.counts;
  return `${r.writes} writes, ${r.kills.length} kills, ${r.redeliveries} redelivered, lost ${c.lost}, stale ${c.stale}, duplicated ${c.duplicated}, catalog ${c.catalog}, stuck ${c.stuck}, dlq ${c.dlq}, misrouted ${c.misrouted}, crashes ${r.crashes.length}`;
}

export async function runSoak(opts: SoakOptions): Promise<SeedResult[]> {
  const out: SeedResult[] = [];
  for (const [i, seed] of opts.seeds.entries()) out.push(await runSeed(seed, i, opts));
  return out;
}

/** True when every seed passed. */
export function soakOk(results: readonly SeedResult[]): boolean {
  return results.every((r) => r.ok);
}

function reconcileCell(r: SeedResult): string {
  if (!r.reconcile) return '-';
  if ('error' in r.reconcile) return 'error';
  const { missing, different, duplicated } = r.reconcile;
  return missing + different + duplicated === 0 ? 'ok' : `${missing}/${different}/${duplicated}`;
}

/** The table printed at the end: one row per seed and a total. */
export function formatTable(results: readonly SeedResult[]): string {
  const traits = (f: TopologyFeatures) => [f.bothWays ? 'B' : '', f.rulesPerBucket > 1 ? 'S' : '', f.chained ? 'C' : '', f.suffixed ? 'X' : ''].join('') || '-';
  const head = ['seed', 'rules/regions', 'dests', 'traits', 'keys', 'writes', 'overwr', 'deleted', 'MB', 'kills', 'redeliv', 'lost', 'stale', 'dup', 'catalog', 'stuck', 'dlq', 'misrouted', 'crash', 'reconcile', 's'];
  const row = (r: SeedResult): string[] => {
    const c = r.check.counts;
    return [
      `${r.seed}${r.poisoned ? '*' : ''}`,
      `${r.features.rules}/${r.features.regions}`,
      `${r.features.normal}N+${r.features.backup}B`,
      traits(r.features),
      String(r.keys),
      String(r.writes),
      String(r.ops.overwrites + r.ops.recreates),
      String(r.ops.deletes + r.ops.moves),
      (r.ops.bytes / 1e6).toFixed(1),
      String(r.kills.length),
      String(r.redeliveries),
      String(c.lost),
      String(c.stale),
      c.duplicatedAfterKill ? `${c.duplicated}(${c.duplicatedAfterKill}k)` : String(c.duplicated),
      String(c.catalog),
      String(c.stuck),
      String(c.dlq),
      String(c.misrouted),
      String(r.crashes.length),
      reconcileCell(r),
      r.seconds.toFixed(0),
    ];
  };
  const sum = (f: (r: SeedResult) => number) => String(results.reduce((s, r) => s + f(r), 0));
  const total = [
    `${results.length} seeds`,
    `${sum((r) => r.features.rules)} rules`,
    `${sum((r) => r.features.normal)}N+${sum((r) => r.features.backup)}B`,
    '',
    sum((r) => r.keys),
    sum((r) => r.writes),
    sum((r) => r.ops.overwrites + r.ops.recreates),
    sum((r) => r.ops.deletes + r.ops.moves),
    (results.reduce((s, r) => s + r.ops.bytes, 0) / 1e6).toFixed(1),
    sum((r) => r.kills.length),
    sum((r) => r.redeliveries),
    sum((r) => r.check.counts.lost),
    sum((r) => r.check.counts.stale),
    `${sum((r) => r.check.counts.duplicated)}(${sum((r) => r.check.counts.duplicatedAfterKill)}k)`,
    sum((r) => r.check.counts.catalog),
    sum((r) => r.check.counts.stuck),
    sum((r) => r.check.counts.dlq),
    sum((r) => r.check.counts.misrouted),
    sum((r) => r.crashes.length),
    `${results.filter((r) => reconcileCell(r) === 'ok').length} ok`,
    results.reduce((s, r) => s + r.seconds, 0).toFixed(0),
  ];
  const rows = [head, ...results.map(row), total];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i <= 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const checked = results.reduce((s, r) => s + r.check.counts.checked, 0);
  const skipped = results.reduce((s, r) => s + r.check.counts.skipped, 0);
  const planted = results.filter((r) => r.poisoned).length;
  const count = (f: (k: KillRecord) => boolean) => results.reduce((s, r) => s + r.kills.filter(f).length, 0);
  return [
    line(head),
    rule,
    ...results.map((r) => line(row(r))),
    rule,
    line(total),
    '',
    `traits: B region both source and target, S several rules on one bucket, C a destination that is another rule's source, X suffix filter; * a malformed message planted (${planted} seeds, expected in its dead-letter queue, not counted in dlq)`,
    `${checked} (object, destination) pairs checked, ${skipped} skipped on purpose; redeliv = messages received before a kill and not deleted (received again after the restart)`,
    `kills: ${count((k) => k.mode === 'startup')} during start-up, ${count((k) => k.mode === 'busy')} at a random moment of work, ${count((k) => k.mode === 'in-flight')} as soon as a message was held, ${count((k) => k.mode === 'after-upload')} as an archive or batch record reached an outbox (${count((k) => k.trigger !== undefined)} fired), ${count((k) => k.mode === 'quiet')} once quiet; ${count((k) => k.inFlight.compressor + k.inFlight.router > 0)} with messages in flight, ${count((k) => k.betweenStages > 0)} with archives between stages (${results.reduce((s, r) => s + r.kills.reduce((t, k) => t + k.betweenStages, 0), 0)} archives)`,
    `dup: (object_path, sha256) pairs in more than one archive of one backup destination; (Nk): N of them archived again after a kill between the first upload and its acknowledgement`,
    `reconcile = shared/reconcile's verdict (ok, or missing/different/duplicated); the harness's own columns decide the exit code`,
  ].join('\n');
}

/** Every problem of every failed seed, for the end of the output. */
export function formatProblems(results: readonly SeedResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    const recon = r.reconcile && !('error' in r.reconcile) && reconcileCell(r) !== 'ok' ? r.reconcile.report : r.reconcile && 'error' in r.reconcile ? `reconcile could not run: ${r.reconcile.error}\n` : '';
    if (r.ok && !recon) continue;
    out.push(`seed ${r.seed} (${r.topology})${r.kept ? `, kept in ${r.dir}` : ''}:`);
    for (const c of r.crashes) out.push(`  crash: ${c.replace(/\n/g, '\n    ')}`);
    for (const p of r.check.problems) out.push(`  ${p}`);
    const shown = r.check.problems.length;
    const total = FAILING.reduce((s, k) => s + r.check.counts[k], 0);
    if (total > shown) out.push(`  … ${total - shown} more`);
    if (recon) out.push(`  ${recon.trimEnd().replace(/\n/g, '\n  ')}`);
  }
  return out.join('\n');
}
