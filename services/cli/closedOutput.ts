/**
 * Output into a pipe whose reader stopped early (`xregion archive list … | head`). The next write
 * fails with EPIPE. C tools die of SIGPIPE there; Node ignores SIGPIPE and emits the error on
 * process.stdout instead, where nothing listened, so the CLI crashed with a stack trace.
 *
 * The reader has all it asked for, so the command ends at once, quietly, with the exit status it
 * had already recorded (0 unless a failure was) — as ripgrep does, not 141 (128 + SIGPIPE) as a
 * shell reports for coreutils: `set -o pipefail` scripts, and `npm start | head` through npm, stay
 * quiet. Ending at once is safe: commands print their results to stdout after their work, and a
 * closed stderr can end `start` mid-run only as SIGPIPE would a C tool (its pipeline is crash-safe).
 */
export function exitQuietlyOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit();
      throw err; // anything else stays the crash it was without this listener
    });
  }
}
