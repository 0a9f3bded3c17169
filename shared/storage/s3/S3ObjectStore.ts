/** ObjectStore on Amazon S3 (and S3-compatible emulators such as moto). */
import { createHash } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { DigestStream } from '../DigestStream';
import { normalizePutOptions } from '../putOptions';
import { ChecksumMismatchError, SizeMismatchError, StorageError } from '../errors';
import {
  SHA256_METADATA_KEY,
  type CopyOptions,
  type HeadOptions,
  type ObjectInfo,
  type ObjectRef,
  type ObjectStore,
  type ObjectSummary,
  type PutOptions,
  type PutResult,
  type ReadOptions,
} from '../port';
import { multipartCopy } from './multipartCopy';
import { copySource, lowerKeys, quoteEtag, unquoteEtag, writeParams } from './params';
import { createS3Client, type AwsConnectionConfig } from './s3Client';
import { translateS3Error } from './translateError';

export interface S3ObjectStoreConfig extends AwsConnectionConfig {
  /** Use this client instead of building one from the connection settings. */
  client?: S3Client;
  /** Default multipart threshold and part size (default 16 MiB; S3's minimum part is 5 MiB). */
  multipartThreshold?: number;
  /** Parts uploaded concurrently per put (default 4). Memory: threshold × (queueSize + 1). */
  queueSize?: number;
  /** Above this size copy() uses UploadPartCopy (default 5 GiB, S3's CopyObject limit). */
  copyMultipartThreshold?: number;
  /** Part size of a multipart copy (default 512 MiB, raised to fit 10,000 parts). */
  copyPartSize?: number;
  /** ListObjectsV2 MaxKeys (default 1000). */
  listPageSize?: number;
}

export const DEFAULT_MULTIPART_THRESHOLD = 16 * 1024 * 1024;
const MIN_PART_SIZE = 5 * 1024 * 1024;
const FIVE_GIB = 5 * 1024 ** 3;

export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client;
  private readonly threshold: number;
  private readonly queueSize: number;
  private readonly copyThreshold: number;
  private readonly copyPartSize: number;
  private readonly pageSize: number;

  constructor(cfg: S3ObjectStoreConfig) {
    this.client = cfg.client ?? createS3Client(cfg);
    this.threshold = Math.max(MIN_PART_SIZE, cfg.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD);
    this.queueSize = cfg.queueSize ?? 4;
    this.copyThreshold = cfg.copyMultipartThreshold ?? FIVE_GIB;
    this.copyPartSize = Math.max(MIN_PART_SIZE, cfg.copyPartSize ?? 512 * 1024 * 1024);
    this.pageSize = cfg.listPageSize ?? 1000;
  }

  async head(bucket: string, key: string, opts: HeadOptions = {}): Promise<ObjectInfo> {
    try {
      const r = await this.client.send(
        new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: opts.versionId, IfMatch: opts.ifMatch ? quoteEtag(opts.ifMatch) : undefined }),
      );
      const info = toInfo(bucket, key, r);
      if (opts.withTags) {
        const t = await this.client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: r.VersionId ?? opts.versionId }));
        info.tags = Object.fromEntries((t.TagSet ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
      }
      return info;
    } catch (err) {
      throw translateS3Error(err, bucket, key, opts);
    }
  }

  async get(bucket: string, key: string, opts: ReadOptions = {}): Promise<{ info: ObjectInfo; body: Readable }> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: opts.versionId, IfMatch: opts.ifMatch ? quoteEtag(opts.ifMatch) : undefined }),
      );
      return { info: toInfo(bucket, key, r), body: r.Body as Readable };
    } catch (err) {
      throw translateS3Error(err, bucket, key, opts);
    }
  }

  async getRange(bucket: string, key: string, offset: number, length: number, opts: ReadOptions = {}): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
    try {
      const r = await this.client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          VersionId: opts.versionId,
          IfMatch: opts.ifMatch ? quoteEtag(opts.ifMatch) : undefined,
          Range: `bytes=${offset}-${offset + length - 1}`,
        }),
      );
      return await buffer(r.Body as Readable);
    } catch (err) {
      // A range starting at or past the end: clamp to nothing, as the port says.
      if ((err as { name?: string }).name === 'InvalidRange' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) {
        return Buffer.alloc(0);
      }
      throw translateS3Error(err, bucket, key, opts);
    }
  }

  async put(bucket: string, key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<PutResult> {
    const opts = normalizePutOptions(options);
    const threshold = Math.max(MIN_PART_SIZE, opts.multipartThreshold ?? this.threshold);
    if (Buffer.isBuffer(body)) {
      return body.length <= threshold ? this.putSingle(bucket, key, body, opts) : this.putMultipart(bucket, key, Readable.from([body]), [], threshold, opts);
    }
    // Read up to the threshold: small objects go in one PUT whose sha256 is known up front.
    const it = body[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let seen = 0;
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await it.next();
      } catch (err) {
        throw new StorageError(`s3://${bucket}/${key}: reading the body failed`, bucket, key, false, { cause: err });
      }
      if (next.done) return this.putSingle(bucket, key, Buffer.concat(head), opts);
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
      head.push(chunk);
      seen += chunk.length;
      if (seen > threshold) break;
    }
    const rest = Readable.from({ [Symbol.asyncIterator]: () => it });
    return this.putMultipart(bucket, key, rest, head, threshold, opts);
  }

  private async putSingle(bucket: string, key: string, data: Buffer, opts: PutOptions): Promise<PutResult> {
    const digest = createHash('sha256').update(data);
    const sha256 = digest.copy().digest('hex');
    if (opts.size !== undefined && opts.size !== data.length) throw new SizeMismatchError(bucket, key, opts.size, data.length);
    if (opts.sha256 !== undefined && opts.sha256.toLowerCase() !== sha256) throw new ChecksumMismatchError(bucket, key, opts.sha256, sha256);
    try {
      const r = await this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: data,
          ContentLength: data.length,
          // S3 verifies the bytes it received against this before it commits.
          ChecksumSHA256: digest.digest('base64'),
          ...writeParams(opts, sha256),
          ...(opts.ifNoneMatch !== undefined && { IfNoneMatch: opts.ifNoneMatch }),
          ...(opts.ifMatch !== undefined && { IfMatch: `"${opts.ifMatch.replace(/"/g, '')}"` }),
        }),
      );
      return { etag: unquoteEtag(r.ETag), versionId: r.VersionId, sha256, size: data.length };
    } catch (err) {
      throw translateS3Error(err, bucket, key);
    }
  }

  private async putMultipart(bucket: string, key: string, rest: Readable, head: Buffer[], partSize: number, opts: PutOptions): Promise<PutResult> {
    if (opts.ifNoneMatch !== undefined || opts.ifMatch !== undefined) {
      rest.destroy();
      throw new StorageError(`s3://${bucket}/${key}: conditional puts are single-part (at most ${partSize} bytes)`, bucket, key, false);
    }
    // A mismatch fails the stream before its end, so lib-storage never sends the last part
    // and never completes: it aborts the multipart upload instead.
    const digest = new DigestStream({
      expect: {
        sha256: opts.sha256,
        size: opts.size,
        onMismatch: (a) =>
          opts.sha256 !== undefined && opts.sha256.toLowerCase() !== a.sha256
            ? new ChecksumMismatchError(bucket, key, opts.sha256, a.sha256)
            : new SizeMismatchError(bucket, key, opts.size ?? -1, a.size),
      },
    });
    for (const c of head) digest.write(c);
    pipeline(rest, digest, () => undefined);
    const upload = new Upload({
      client: this.client,
      partSize,
      queueSize: this.queueSize,
      params: { Bucket: bucket, Key: key, Body: digest, ...writeParams(opts, opts.sha256?.toLowerCase()) },
    });
    try {
      const r = await upload.done();
      return { etag: unquoteEtag(r.ETag), versionId: r.VersionId, sha256: digest.sha256, size: digest.byteCount };
    } catch (err) {
      digest.destroy();
      rest.destroy();
      throw translateS3Error(err, bucket, key);
    }
  }

  async copy(source: ObjectRef, target: { bucket: string; key: string }, opts: CopyOptions = {}): Promise<PutResult> {
    const src = await this.head(source.bucket, source.key, { versionId: source.versionId });
    const sha256 = src.sha256 ?? '';
    const versioned: ObjectRef = { ...source, versionId: source.versionId ?? src.versionId };
    if (src.size > this.copyThreshold) {
      return multipartCopy(this.client, src, versioned, target, opts, { partSize: this.copyPartSize, concurrency: this.queueSize });
    }
    try {
      const r = await this.client.send(
        new CopyObjectCommand({
          Bucket: target.bucket,
          Key: target.key,
          CopySource: copySource(versioned),
          CopySourceIfMatch: quoteEtag(src.etag),
          ...(opts.replaceMetadata
            ? { MetadataDirective: 'REPLACE' as const, TaggingDirective: 'REPLACE' as const, ...writeParams(opts, sha256 || undefined) }
            : {
                MetadataDirective: 'COPY' as const,
                ...(opts.storageClass ? { StorageClass: opts.storageClass as StorageClass } : {}),
                ...(opts.kmsKeyId ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: opts.kmsKeyId } : {}),
              }),
        }),
      );
      return { etag: unquoteEtag(r.CopyObjectResult?.ETag), versionId: r.VersionId, sha256, size: src.size };
    } catch (err) {
      throw translateS3Error(err, target.bucket, target.key);
    }
  }

  async *list(bucket: string, prefix?: string): AsyncIterable<ObjectSummary> {
    let token: string | undefined;
    do {
      let r;
      try {
        r = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: this.pageSize }));
      } catch (err) {
        throw translateS3Error(err, bucket);
      }
      for (const o of r.Contents ?? []) {
        yield { key: o.Key ?? '', size: o.Size ?? 0, etag: unquoteEtag(o.ETag), lastModified: o.LastModified ?? new Date(0), storageClass: o.StorageClass ?? 'STANDARD' };
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(bucket: string, key: string, opts: { versionId?: string } = {}): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: opts.versionId }));
    } catch (err) {
      const e = translateS3Error(err, bucket, key, opts);
      if (e.name === 'NoSuchObjectError') return;
      throw e;
    }
  }
}

interface HeadLike {
  ContentLength?: number;
  ETag?: string;
  VersionId?: string;
  LastModified?: Date;
  ContentType?: string;
  StorageClass?: string;
  Metadata?: Record<string, string>;
}

function toInfo(bucket: string, key: string, r: HeadLike): ObjectInfo {
  const metadata = lowerKeys(r.Metadata);
  return {
    bucket,
    key,
    size: r.ContentLength ?? 0,
    etag: unquoteEtag(r.ETag),
    versionId: r.VersionId,
    lastModified: r.LastModified ?? new Date(0),
    contentType: r.ContentType,
    storageClass: r.StorageClass ?? 'STANDARD',
    metadata,
    sha256: metadata[SHA256_METADATA_KEY],
  };
}
