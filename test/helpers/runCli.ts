/** Runs xregion commands in-process for tests: exit code, stdout and stderr. */
import { Command } from 'commander';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Registers the given commands on a fresh program and runs `args`; a thrown error counts as its exitCode (commander's), else 1. */
export async function runCli(register: ((program: Command) => void)[], args: string[]): Promise<CliResult> {
  const program = new Command().exitOverride();
  for (const r of register) r(program);
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  const before = process.exitCode;
  process.exitCode = 0;
  let code = 0;
  try {
    await program.parseAsync(args, { from: 'user' });
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    const exitCode = (e as { exitCode?: unknown }).exitCode;
    stderr += `${(e as Error).message}\n`;
    code = typeof exitCode === 'number' ? exitCode : 1;
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = before;
  }
  return { code, stdout, stderr };
}
