/** S3 request-parameter helpers shared by the S3 adapter's files. */
import type { StorageClass } from '@aws-sdk/client-s3';
import { SHA256_METADATA_KEY, type ObjectRef, type WriteOptions } from '../port';

/** S3 wants ETags quoted in preconditions; the port hands them out unquoted. */
export function quoteEtag(etag: string): string {
  return `"${etag.replace(/"/g, '')}"`;
}

/** The port's ETag form: without quotes. */
export function unquoteEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/"/g, '');
}

/** `x-amz-tagging` / `Tagging` value: URL query encoding. */
export function encodeTagging(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

/** CopySource header value: bucket/key with the key URL-encoded ('/' kept), plus ?versionId. */
export function copySource(ref: ObjectRef): string {
  const key = ref.key.split('/').map(encodeURIComponent).join('/');
  return `${ref.bucket}/${key}${ref.versionId !== undefined ? `?versionId=${encodeURIComponent(ref.versionId)}` : ''}`;
}

export function lowerKeys(m: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k.toLowerCase()] = v;
  return out;
}

/** Write options → S3 request parameters (content type, metadata, tags, class, SSE-KMS). */
export function writeParams(opts: WriteOptions, sha256: string | undefined) {
  const metadata = lowerKeys(opts.metadata);
  if (sha256) metadata[SHA256_METADATA_KEY] = sha256;
  return {
    ...(opts.contentType !== undefined ? { ContentType: opts.contentType } : {}),
    Metadata: metadata,
    ...(opts.tags && Object.keys(opts.tags).length > 0 ? { Tagging: encodeTagging(opts.tags) } : {}),
    ...(opts.storageClass ? { StorageClass: opts.storageClass as StorageClass } : {}),
    ...(opts.kmsKeyId ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: opts.kmsKeyId } : {}),
  };
}
