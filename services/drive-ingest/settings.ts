/** Environment of the drive-ingest ECS task → which source to run, where, with which credentials. */
import { ConfigError, parseConfig, type ConfigIssue, type DriveSource } from '../../shared/config';
import { loadDriveCredentials, type DriveCredentials } from '../../shared/drive';

export interface DriveIngestSettings {
  region: string;
  source: DriveSource;
  credentials: DriveCredentials;
  /** XREGION_AWS_ENDPOINT: an S3 emulator. */
  endpoint?: string;
  /** XREGION_DRIVE_ROOT_URL: a Drive-compatible server (the sample Drive). */
  rootUrl?: string;
}

/**
 * AWS_REGION, XREGION_CONFIG (the validated config JSON), XREGION_DRIVE_SOURCE (source name; may
 * be omitted when one source targets this region) and XREGION_DRIVE_CREDENTIALS (the
 * Secrets Manager secret ECS injects). Every problem is reported at once; secrets never are.
 */
export function readDriveIngestSettings(env: NodeJS.ProcessEnv): DriveIngestSettings {
  const issues: ConfigIssue[] = [];
  const region = env.AWS_REGION ?? '';
  if (!region) issues.push({ path: 'AWS_REGION', message: 'is not set' });
  if (!env.XREGION_CONFIG) issues.push({ path: 'XREGION_CONFIG', message: 'is not set' });
  if (issues.length) throw new ConfigError('environment', issues);
  let raw: unknown;
  try {
    raw = JSON.parse(env.XREGION_CONFIG ?? '');
  } catch (err) {
    throw new ConfigError('environment', [{ path: 'XREGION_CONFIG', message: 'is not valid JSON' }], { cause: err });
  }
  const { config } = parseConfig(raw, 'XREGION_CONFIG');
  const name = env.XREGION_DRIVE_SOURCE;
  const candidates = config.drive_sources.filter((s) => (name ? s.name === name : s.target.region === region));
  if (candidates.length !== 1) {
    const why = name ? `no drive source named ${name}` : `${candidates.length} drive sources target ${region}: set XREGION_DRIVE_SOURCE`;
    throw new ConfigError('environment', [{ path: 'XREGION_DRIVE_SOURCE', message: why }]);
  }
  return {
    region, source: candidates[0], credentials: loadDriveCredentials({ env }),
    endpoint: env.XREGION_AWS_ENDPOINT || undefined, rootUrl: env.XREGION_DRIVE_ROOT_URL || undefined,
  };
}
