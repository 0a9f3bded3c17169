/** Typed errors of the config module. */

/** One problem found in a config file: where, what value, and what is allowed. */
export interface ConfigIssue {
  /** JSON path, e.g. `replication_configuration[0].destinations[1].storage_class`. */
  path: string;
  /** The offending value as it appears in the file (JSON), or undefined when missing. */
  value?: string;
  /** What is wrong and what is allowed. */
  message: string;
}

/** Renders one issue as `path: value message`. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.path || '(root)';
  return issue.value === undefined ? `${where}: ${issue.message}` : `${where}: ${issue.value} ${issue.message}`;
}

/** The config file is unreadable or invalid; carries every issue found, not only the first. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`, options);
    this.name = 'ConfigError';
  }
}
