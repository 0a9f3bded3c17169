/**
 * Settings a service reads from its environment on ECS (the CDK stacks set them): role, region,
 * queue, buckets and the slice of the validated config it needs, as JSON in XREGION_CONFIG.
 */
import { ConfigError, type ConfigIssue } from './errors';
import { parseConfig } from './loadConfig';
import type { Config } from './schema';

export interface RuntimeSettings {
  role: string;
  region: string;
  queueUrl: string;
  stagingBucket: string;
  catalogBucket?: string;
  config: Config;
  /** Optional AWS endpoint override (an emulator), from XREGION_AWS_ENDPOINT. */
  endpoint?: string;
}

/** Reads and validates the variables a queue-driven service needs; every missing one is reported. */
export function readRuntimeSettings(env: NodeJS.ProcessEnv, role: string): RuntimeSettings {
  const issues: ConfigIssue[] = [];
  const need = (name: string): string => {
    const v = env[name];
    if (!v) issues.push({ path: name, message: 'is not set' });
    return v ?? '';
  };
  const region = need('AWS_REGION');
  const queueUrl = need('XREGION_QUEUE_URL');
  const stagingBucket = need('XREGION_STAGING_BUCKET');
  const configJson = need('XREGION_CONFIG');
  if (issues.length) throw new ConfigError('environment', issues);
  let raw: unknown;
  try {
    raw = JSON.parse(configJson);
  } catch (err) {
    throw new ConfigError('environment', [{ path: 'XREGION_CONFIG', message: `is not valid JSON: ${(err as Error).message}` }], { cause: err });
  }
  const { config } = parseConfig(raw, 'XREGION_CONFIG');
  return { role, region, queueUrl, stagingBucket, catalogBucket: env.XREGION_CATALOG_BUCKET || undefined, config, endpoint: env.XREGION_AWS_ENDPOINT || undefined };
}
