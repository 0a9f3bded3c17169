/** The problem lines of the ConfigError that parsing a raw config throws (one per problem). */
import { ConfigError, parseConfig } from '../../shared/config';

/** Parses `raw`, expects a ConfigError and returns its problem lines, trimmed. */
export function configErrorsOf(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n').slice(1).map((l) => l.trim());
  }
  throw new Error('expected a ConfigError');
}
