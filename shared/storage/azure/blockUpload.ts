/**
 * Streaming put as a block blob: stage blocks (each with its MD5, so Azure verifies every block it
 * receives), hash the whole stream while it passes, and commit the block list only when the
 * sha256 and size match. A mismatch, a failed body or a failed block commits nothing: the staged
 * blocks stay uncommitted (invisible to reads and lists) and Azure discards them after a week or
 * at the blob's next commit.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BlockBlobClient, BlobHTTPHeaders, BlockBlobCommitBlockListOptions } from '@azure/storage-blob';
import { ChecksumMismatchError, SizeMismatchError, StorageError } from '../errors';
import { SHA256_METADATA_KEY } from '../port';
import { toAzureMetadataName } from './metadataNames';

/** Azure's cap on committed blocks per blob. */
export const MAX_BLOCKS = 50_000;

/**
 * Block ids of one length (Azure requires it for every block of a blob, committed or not): a
 * random per-put nonce, so two concurrent puts to one key never overwrite each other's staged
 * blocks, and a zero-padded index.
 */
export function blockIdFactory(nonce = randomBytes(8).toString('hex')): (index: number) => string {
  return (index) => Buffer.from(`${nonce}-${String(index).padStart(6, '0')}`).toString('base64');
}

/** Block size for a stream: the configured size, raised when a known size would need more than MAX_BLOCKS blocks. */
export function blockSizeFor(configured: number, knownSize: number | undefined): number {
  return knownSize === undefined ? configured : Math.max(configured, Math.ceil(knownSize / MAX_BLOCKS));
}

export interface StagedUploadInput {
  blob: BlockBlobClient;
  bucket: string;
  key: string;
  /** Chunks already read (the head that crossed the single-shot threshold), then the rest of the stream. */
  head: Buffer[];
  rest: AsyncIterator<unknown>;
  blockSize: number;
  concurrency: number;
  expect: { sha256?: string; size?: number };
  headers: BlobHTTPHeaders;
  /** Azure-named metadata without the sha256 entry (added here once the hash is known). */
  metadata: Record<string, string>;
  commit: Omit<BlockBlobCommitBlockListOptions, 'metadata' | 'blobHTTPHeaders'>;
}

/** Stages the stream in blocks with at most `concurrency` in flight; commits only on a full match. */
export async function stagedUpload(input: StagedUploadInput): Promise<{ etag: string; versionId?: string; sha256: string; size: number }> {
  const { blob, bucket, key, blockSize, concurrency } = input;
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  const idOf = blockIdFactory();
  const ids: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let size = 0;

  const stage = (block: Buffer): void => {
    if (ids.length >= MAX_BLOCKS) throw new StorageError(`${bucket}/${key}: over ${MAX_BLOCKS} blocks of ${blockSize} bytes; pass size or a larger multipartThreshold`, bucket, key, false);
    const id = idOf(ids.length);
    ids.push(id);
    const p: Promise<void> = blob
      .stageBlock(id, block, block.length, { transactionalContentMD5: createHash('md5').update(block).digest() })
      .then(
        () => undefined,
        (err: unknown) => {
          failure ??= err;
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  // Memory: one block being filled plus `concurrency` blocks in flight.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const take = async (chunk: Buffer): Promise<void> => {
    sha.update(chunk);
    md5.update(chunk);
    size += chunk.length;
    pending.push(chunk);
    pendingBytes += chunk.length;
    while (pendingBytes >= blockSize) {
      const all = Buffer.concat(pending);
      stage(all.subarray(0, blockSize));
      pending = [all.subarray(blockSize)];
      pendingBytes = pending[0].length;
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
      if (failure) throw failure;
    }
  };

  try {
    for (const c of input.head) await take(c);
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await input.rest.next();
      } catch (err) {
        throw new StorageError(`${bucket}/${key}: reading the body failed; nothing committed`, bucket, key, false, { cause: err });
      }
      if (next.done) break;
      await take(Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array));
    }
    if (pendingBytes > 0 || ids.length === 0) stage(Buffer.concat(pending));
    await Promise.all(inFlight);
    if (failure) throw failure;
  } catch (err) {
    await Promise.allSettled(inFlight);
    await input.rest.return?.();
    throw err;
  }

  const digest = sha.digest('hex');
  const { expect } = input;
  if (expect.sha256 !== undefined && expect.sha256.toLowerCase() !== digest) throw new ChecksumMismatchError(bucket, key, expect.sha256, digest);
  if (expect.size !== undefined && expect.size !== size) throw new SizeMismatchError(bucket, key, expect.size, size);
  // Unlike S3 multipart, the metadata goes out with the commit, after the hash is known: every
  // Azure put records its sha256. The whole-content MD5 is stored too (Azure keeps it, unchecked).
  const r = await blob.commitBlockList(ids, {
    ...input.commit,
    blobHTTPHeaders: { ...input.headers, blobContentMD5: md5.digest() },
    metadata: { ...input.metadata, [toAzureMetadataName(SHA256_METADATA_KEY)]: digest },
  });
  return { etag: r.etag ?? '', versionId: r.versionId, sha256: digest, size };
}
