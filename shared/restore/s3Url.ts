/** `s3://bucket[/key-or-prefix]` URLs as the CLI takes them. */
import { RestoreRequestError } from './errors';

export interface S3Url {
  bucket: string;
  /** Key or prefix ('' for the whole bucket). */
  key: string;
}

/** Parses `s3://bucket/key`; throws RestoreRequestError otherwise. */
export function parseS3Url(url: string): S3Url {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw new RestoreRequestError(`${JSON.stringify(url)} is not an s3://bucket[/key] URL`);
  return { bucket: m[1]!, key: m[2]! };
}
