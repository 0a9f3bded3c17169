/** Reads, parses and validates replication_config.json into a typed, defaulted Config. */
import { readFileSync } from 'node:fs';
import { crossCheck } from './crossChecks';
import { ConfigError, type ConfigIssue } from './errors';
import { formatIssues } from './formatIssues';
import { splitDestinations } from './azureDestination';
import { configSchema, lenientParse, type Config, type ParsedConfig } from './schema';

export interface ConfigResult {
  config: Config;
  /** Legal but probably unintended settings (e.g. a Drive target nothing replicates). */
  warnings: ConfigIssue[];
}

/**
 * Validates an already-parsed JSON document; throws ConfigError listing every problem: the schema
 * errors first, then the cross-check findings (loops, overlaps...) among the parts that parsed.
 */
export function parseConfig(raw: unknown, file = 'replication_config.json'): ConfigResult {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lenient = lenientParse(configSchema, raw);
    const { errors } = lenient ? crossCheck(lenient) : { errors: [] };
    throw new ConfigError(file, [...formatIssues(configSchema, raw, parsed.error.issues), ...errors]);
  }
  const { errors, warnings } = crossCheck(parsed.data);
  if (errors.length > 0) throw new ConfigError(file, errors);
  return { config: toConfig(parsed.data), warnings };
}

/** The schema's output with each rule's Azure destinations moved to `azure_destinations`. */
function toConfig(parsed: ParsedConfig): Config {
  return { ...parsed, replication_configuration: parsed.replication_configuration.map((r) => splitDestinations(r)) as Config['replication_configuration'] };
}

/** Reads and validates a config file, returning the config and its warnings. */
export function readConfig(path: string): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new ConfigError(path, [{ path: '', message: `cannot be read: ${reason}` }], { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, [{ path: '', message: `is not valid JSON: ${(err as Error).message}` }], { cause: err });
  }
  return parseConfig(raw, path);
}

/** Reads and validates a config file; throws ConfigError listing every problem. */
export function loadConfig(path: string): Config {
  return readConfig(path).config;
}
