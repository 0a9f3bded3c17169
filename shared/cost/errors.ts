/** Errors of the cost model: bad price files and bad workloads, each with every problem found. */

/** A `--prices` file that is not JSON or does not fit the price table; `problems` lists each one. */
export class PricesFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'PricesFileError';
  }
}

/** A workload the model cannot price (e.g. a negative volume, a ratio below 1). */
export class WorkloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkloadError';
  }
}
