/**
 * Spawns the real `xregion` CLI (services/cli/main.ts through tsx, so the test sees the sources,
 * not a possibly stale dist/) as a child process, for what only a separate process shows: which
 * modules a command loads, and how it behaves when its output pipe closes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
const MAIN = resolve(ROOT, 'services/cli/main.ts');

/** node arguments that run the CLI with `args`, after `preload` (a --require'd probe) if given. */
export function cliArgv(args: string[], preload?: string): string[] {
  return [...(preload ? ['--require', preload] : []), '--import', 'tsx', MAIN, ...args];
}

/** Runs the CLI to completion. */
export function runCliProcess(args: string[], opts: { preload?: string; cwd?: string } = {}): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, cliArgv(args, opts.preload), { cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs the CLI with its stdout piped to a reader that closes the pipe after the first chunk, as
 * `| head -1` does: every later write of the CLI meets a closed pipe (EPIPE).
 */
export function runIntoClosedPipe(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; firstChunk: string }> {
  return new Promise((done, fail) => {
    const child: ChildProcess = spawn(process.execPath, cliArgv(args), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let firstChunk = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout!.once('data', (c: Buffer) => {
      firstChunk = c.toString();
      child.stdout!.destroy(); // closes our end of the pipe
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stderr, firstChunk });
    });
  });
}
