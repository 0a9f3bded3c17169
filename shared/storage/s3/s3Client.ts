/** Typed connection settings for AWS SDK clients, with the emulator tweaks in one place. */
import { S3Client } from '@aws-sdk/client-s3';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsConnectionConfig {
  region: string;
  /** e.g. `http://127.0.0.1:5000` for moto; implies emulator settings (see awsClientOptions). */
  endpoint?: string;
  /** Default: the SDK's provider chain. */
  credentials?: AwsCredentials;
  /** Default: true when `endpoint` is set. */
  forcePathStyle?: boolean;
  /** SDK attempts per request including the first (default 10: survives a SlowDown storm). */
  maxAttempts?: number;
  /** SDK retry mode (default 'standard'; 'adaptive' adds client-side rate limiting). */
  retryMode?: 'standard' | 'adaptive';
}

/**
 * Default SDK attempts. Throttling backoff is full jitter over min(1 s × 2^n, 20 s): 9 retries ride
 * out ~a minute of 503s (expected waits 0.5, 1, 2, 4, 8, 10, 10, 10, 10 s).
 */
export const DEFAULT_MAX_ATTEMPTS = 10;

/** Options shared by every SDK client we build (S3, SQS, ...). */
export function awsClientOptions(cfg: AwsConnectionConfig) {
  const emulator = cfg.endpoint !== undefined;
  return {
    region: cfg.region,
    ...(cfg.endpoint !== undefined ? { endpoint: cfg.endpoint } : {}),
    ...(cfg.credentials !== undefined ? { credentials: cfg.credentials } : {}),
    maxAttempts: cfg.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: cfg.retryMode ?? 'standard',
    // Emulators validate no checksums and some reject the SDK's default CRC32 trailers.
    ...(emulator ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
  };
}

/** An S3Client for this connection. */
export function createS3Client(cfg: AwsConnectionConfig): S3Client {
  return new S3Client({ ...awsClientOptions(cfg), forcePathStyle: cfg.forcePathStyle ?? cfg.endpoint !== undefined });
}
