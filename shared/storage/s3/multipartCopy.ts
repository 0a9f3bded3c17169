/** Server-side copy of objects above CopyObject's 5 GB limit, with UploadPartCopy. */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { CopyOptions, ObjectInfo, ObjectRef, PutResult } from '../port';
import { copySource, quoteEtag, unquoteEtag, writeParams } from './params';
import { translateS3Error } from './translateError';

const MAX_PARTS = 10_000;

/** Copy `src` (already HEADed) to `target` in parts; aborts the upload on any failure. */
export async function multipartCopy(
  client: S3Client,
  src: ObjectInfo,
  source: ObjectRef,
  target: { bucket: string; key: string },
  opts: CopyOptions,
  tuning: { partSize: number; concurrency: number },
): Promise<PutResult> {
  const sha256 = src.sha256 ?? '';
  let uploadId: string | undefined;
  try {
    let write = opts;
    if (!opts.replaceMetadata) {
      // A multipart upload starts empty: carry the source's metadata and tags over explicitly.
      const t = await client.send(new GetObjectTaggingCommand({ Bucket: source.bucket, Key: source.key, VersionId: source.versionId }));
      write = {
        contentType: src.contentType,
        metadata: src.metadata,
        tags: Object.fromEntries((t.TagSet ?? []).map((x) => [x.Key ?? '', x.Value ?? ''])),
        storageClass: opts.storageClass,
        kmsKeyId: opts.kmsKeyId,
      };
    }
    const created = await client.send(
      new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, ...writeParams(write, sha256 || undefined) }),
    );
    uploadId = created.UploadId;
    const partSize = Math.max(tuning.partSize, Math.ceil(src.size / MAX_PARTS));
    const count = Math.max(1, Math.ceil(src.size / partSize));
    const parts: CompletedPart[] = new Array(count);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        const start = i * partSize;
        const end = Math.min(src.size, start + partSize) - 1;
        const r = await client.send(
          new UploadPartCopyCommand({
            Bucket: target.bucket,
            Key: target.key,
            UploadId: uploadId,
            PartNumber: i + 1,
            CopySource: copySource(source),
            CopySourceIfMatch: quoteEtag(src.etag),
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        parts[i] = { PartNumber: i + 1, ETag: r.CopyPartResult?.ETag };
      }
    };
    await Promise.all(Array.from({ length: Math.min(tuning.concurrency, count) }, worker));
    const done = await client.send(
      new CompleteMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
    );
    return { etag: unquoteEtag(done.ETag), versionId: done.VersionId, sha256, size: src.size };
  } catch (err) {
    if (uploadId !== undefined) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId })).catch(() => undefined);
    }
    throw translateS3Error(err, target.bucket, target.key);
  }
}
