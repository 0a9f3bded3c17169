/**
 * Server-side copy inside one storage account. Up to Copy Blob From URL's limit (256 MiB) one
 * `syncCopyFromURL` pinned to the source ETag; above it, Put Block From URL per range
 * (`stageBlockFromURL`) and one commit that sets headers, metadata, tags and tier together.
 * Put Block From URL takes no source precondition, so the source's ETag is checked again after
 * the last block: any write in between changes it, and then nothing is committed.
 */
import type { BlobClient, BlockBlobClient, HttpAuthorization, StorageSharedKeyCredential } from '@azure/storage-blob';
import { BlobSASPermissions } from '@azure/storage-blob';
import { PreconditionFailedError } from '../errors';
import type { ObjectInfo } from '../port';
import type { AzureAccessTier } from './accessTier';
import { blockIdFactory, MAX_BLOCKS } from './blockUpload';

/** How a copy proves it may read its source (same account, so the credential that writes also reads). */
export type SourceAccess =
  | { kind: 'sas'; credential: StorageSharedKeyCredential }
  | { kind: 'url' }
  | { kind: 'bearer'; token: () => Promise<string> };

/** The source URL (and authorization header) Azure fetches the bytes from. */
export async function sourceFor(src: BlobClient, access: SourceAccess): Promise<{ url: string; sourceAuthorization?: HttpAuthorization }> {
  switch (access.kind) {
    case 'sas':
      // One hour covers the largest copy; read-only, this one blob.
      return { url: await src.generateSasUrl({ permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 3600_000) }) };
    case 'url':
      return { url: src.url };
    case 'bearer':
      return { url: src.url, sourceAuthorization: { scheme: 'Bearer', value: await access.token() } };
  }
}

export interface BlockCopyInput {
  source: BlobClient;
  sourceInfo: ObjectInfo;
  target: BlockBlobClient;
  access: SourceAccess;
  blockSize: number;
  concurrency: number;
  contentType?: string;
  contentMD5?: Uint8Array;
  metadata: Record<string, string>;
  tags: Record<string, string>;
  tier?: AzureAccessTier;
}

/** Copies in blocks of `blockSize` (raised to fit MAX_BLOCKS); commits only if the source did not change meanwhile. */
export async function blockCopy(input: BlockCopyInput): Promise<{ etag: string; versionId?: string }> {
  const { sourceInfo: src } = input;
  const blockSize = Math.max(input.blockSize, Math.ceil(src.size / MAX_BLOCKS));
  const count = Math.max(1, Math.ceil(src.size / blockSize));
  const idOf = blockIdFactory();
  const ids = Array.from({ length: count }, (_, i) => idOf(i));
  const { url, sourceAuthorization } = await sourceFor(input.source, input.access);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const offset = i * blockSize;
      const length = Math.min(blockSize, src.size - offset);
      await input.target.stageBlockFromURL(ids[i], url, offset, length, { sourceAuthorization });
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, count) }, worker));
  const now = await input.source.getProperties();
  if (now.etag?.replace(/"/g, '') !== src.etag) throw new PreconditionFailedError(src.bucket, src.key);
  const r = await input.target.commitBlockList(ids, {
    blobHTTPHeaders: { blobContentType: input.contentType, blobContentMD5: input.contentMD5 },
    metadata: input.metadata,
    tags: input.tags,
    tier: input.tier,
  });
  return { etag: r.etag ?? '', versionId: r.versionId };
}
