/**
 * The appliance under soak, as a child process: `xregion start [--watch] --data-dir D -c C
 * --no-sample --no-drive --settle-seconds 0.2`, killed with SIGKILL and started again. Also reads
 * the persisted queues (`<dataDir>/queues/<name>/<id>.json` plus the `receives.log` journal of
 * receive counts, LocalQueue's format) to count what was in flight at a kill, to find what is
 * stuck, and to plant a malformed message while no owner runs.
 *
 * Runners (measured on the 2-vCPU bench machine, `start` of an empty data dir to exit):
 * - `bundle` (default): the CLI bundled once per soak run with esbuild (tsx's own dependency)
 *   into the soak's work dir, node_modules external: ~1.1 s per start, built in <1 s, and the
 *   code under test stays the same for the whole run while others edit the tree.
 * - `tsx`: `node --import tsx services/cli/main.ts`: ~1.9 s per start (transpiles on every start).
 * - `dist`: `node bin/xregion.js` (`npm run build` first, ~30 s): ~1.0 s per start.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type RunnerKind = 'bundle' | 'tsx' | 'dist';

export interface Runner {
  kind: RunnerKind;
  /** Arguments to node before the CLI's own. */
  nodeArgs: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export const REPO = resolve(__dirname, '..', '..');

/**
 * Prepares a way to run the CLI; `bundle` builds it into workDir, from the working tree or, with
 * `ref`, from that commit's services/ and shared/ (`git archive`: a soak of HEAD is not disturbed
 * by edits in progress in the tree).
 */
export function prepareRunner(kind: RunnerKind, workDir: string, opts: { ref?: string } = {}): Runner {
  if (opts.ref && kind !== 'bundle') throw new Error('a git ref can only be soaked with the bundle runner');
  const env = { ...process.env, NODE_PATH: join(REPO, 'node_modules'), NODE_OPTIONS: '' };
  if (kind === 'tsx') return { kind, nodeArgs: ['--import', 'tsx', join(REPO, 'services/cli/main.ts')], env, cwd: REPO };
  if (kind === 'dist') {
    if (!existsSync(join(REPO, 'dist/services/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` first, or use the bundle runner');
    return { kind, nodeArgs: [join(REPO, 'bin/xregion.js')], env, cwd: REPO };
  }
  mkdirSync(workDir, { recursive: true });
  const outfile = join(workDir, 'xregion-soak.cjs');
  let root = REPO;
  if (opts.ref) {
    root = join(workDir, 'src');
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    execFileSync('sh', ['-c', 'git -C "$1" archive --format=tar "$2" services shared | tar -x -C "$3"', 'sh', REPO, opts.ref, root]);
  }
  const esbuild = require(require.resolve('esbuild', { paths: [REPO, join(REPO, 'node_modules/tsx')] })) as {
    buildSync(o: Record<string, unknown>): { errors: unknown[] };
  };
  esbuild.buildSync({
    entryPoints: [join(root, 'services/cli/main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    outfile,
    sourcemap: 'inline',
    logLevel: 'error',
    absWorkingDir: root,
  });
  return { kind, nodeArgs: ['--enable-source-maps', outfile], env, cwd: REPO };
}

export interface StartArgs {
  dataDir: string;
  config: string;
  watch: boolean;
  settleSeconds: number;
  /** Appended: stdout and stderr of every run, with a header line per run. */
  logFile: string;
  label: string;
}

/** One running `xregion start`. */
export class ApplianceProcess {
  readonly child: ChildProcess;
  readonly startedAt = Date.now();
  /** Resolves with the exit code (or the signal's name) when the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitedAt: number | undefined;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** The first pass over the backlog finished ("pipeline idle after …" on stderr). */
  idle = false;
  private tail = '';

  constructor(runner: Runner, args: StartArgs) {
    const cli = ['start', '--data-dir', args.dataDir, '-c', args.config, '--no-sample', '--no-drive', '--settle-seconds', String(args.settleSeconds)];
    if (args.watch) cli.push('--watch');
    appendFileSync(args.logFile, `\n===== ${new Date().toISOString()} ${args.label}: xregion ${cli.join(' ')}\n`);
    this.child = spawn(process.execPath, [...runner.nodeArgs, ...cli], { cwd: runner.cwd, env: runner.env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this.child);
    const onData = (chunk: Buffer) => {
      appendFileSync(args.logFile, chunk);
      const text = chunk.toString('utf8');
      this.tail = (this.tail + text).slice(-4000);
      if (text.includes('pipeline idle')) this.idle = true;
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((res) => {
      this.child.once('exit', (code, signal) => {
        live.delete(this.child);
        this.exitedAt = Date.now();
        this.exit = { code, signal };
        appendFileSync(args.logFile, `\n===== ${args.label}: exit ${code ?? signal}\n`);
        res({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** The last lines it printed. */
  lastLines(n = 8): string {
    return this.tail.split('\n').filter(Boolean).slice(-n).join('\n');
  }

  /** SIGKILL, then wait for the exit. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Waits for the exit; kills it (and says so) after timeoutMs. */
  async wait(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), timeoutMs)));
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === 'timeout') {
      await this.kill();
      return { ...this.exit!, timedOut: true };
    }
    return { ...r, timedOut: false };
  }
}

/** Children still running (killed if the harness exits first). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Kills every appliance this process started that still runs. */
export function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
}

/** One persisted queue message, with its receive count folded from the journal. */
export interface PersistedMessage {
  queue: string;
  id: string;
  body: string;
  receiveCount: number;
  deadLetter: boolean;
  testEvent: boolean;
  /** Not JSON: LocalQueue skips the file on load (never delivered, never dead-lettered). */
  unreadable?: boolean;
}

/** Every message file of every queue of a data dir (LocalQueue's format), receive counts from receives.log included. */
export function readQueues(dataDir: string): PersistedMessage[] {
  const root = join(dataDir, 'queues');
  if (!existsSync(root)) return [];
  const out: PersistedMessage[] = [];
  for (const queue of readdirSync(root)) {
    const dir = join(root, queue);
    const byId = new Map<string, PersistedMessage>();
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      let s: { id: string; body: string; receiveCount: number } | Array<{ id: string; body: string; receiveCount: number }>;
      let text: string;
      try {
        text = readFileSync(join(dir, name), 'utf8');
      } catch {
        continue; // removed while we read (a live owner deleted it)
      }
      try {
        s = JSON.parse(text) as typeof s;
      } catch {
        // LocalQueue skips such a file on load, so it would sit there for ever: reported, never delivered.
        byId.set(name, { queue, id: name, body: text.slice(0, 200), receiveCount: 0, deadLetter: queue.endsWith('-dlq'), testEvent: false, unreadable: true });
        continue;
      }
      // One message, or several a sendBatch wrote as one file (shared/queue/local/QueueFiles.ts).
      for (const m of Array.isArray(s) ? s : [s]) byId.set(m.id, { queue, id: m.id, body: m.body, receiveCount: m.receiveCount, deadLetter: queue.endsWith('-dlq'), testEvent: m.body.includes('"s3:TestEvent"') });
    }
    try {
      for (const line of readFileSync(join(dir, 'receives.log'), 'utf8').split('\n')) {
        // `d <id>`: a batch member deleted while others still hold its file.
        const d = /^d (\S+)$/.exec(line);
        if (d) {
          byId.delete(d[1]!);
          continue;
        }
        const m = /^(\S+) (\d+)$/.exec(line);
        const msg = m ? byId.get(m[1]!) : undefined;
        if (msg && Number(m![2]) > msg.receiveCount) msg.receiveCount = Number(m![2]);
      }
    } catch {
      // no journal
    }
    out.push(...byId.values());
  }
  return out;
}

/** A malformed message planted in a queue folder (LocalQueue's file format) while no process owns the data dir. */
export function plantMalformedMessage(dataDir: string, queue: string, n: number): { id: string; body: string } {
  const dir = join(dataDir, 'queues', queue);
  mkdirSync(dir, { recursive: true });
  // Time-ordered like LocalQueue's ids, so it is delivered in turn with the rest.
  const id = `${Date.now().toString(36).padStart(9, '0')}-poison-${n}`;
  const body = `{"Records": "soak: not an S3 event", "n": ${n}`;
  writeFileSync(join(dir, `${id}.json`), JSON.stringify({ id, body, receiveCount: 0, sentAt: Date.now() }));
  return { id, body };
}
