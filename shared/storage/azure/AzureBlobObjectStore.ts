/**
 * ObjectStore on Azure Blob Storage (and Azurite). One store is one storage account; the port's
 * bucket is a container. Objects are block blobs; see README "Azure Blob Storage (adapter)" for
 * how each part of the port maps.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { BlobServiceClient, StorageSharedKeyCredential, type BlobClient, type BlockBlobClient } from '@azure/storage-blob';
import { ChecksumMismatchError, SizeMismatchError, StorageError, UnsupportedOptionError } from '../errors';
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
  type WriteOptions,
} from '../port';
import { normalizePutOptions } from '../putOptions';
import { fromAccessTier, toAccessTier, type AzureAccessTier } from './accessTier';
import { createBlobServiceClient, type AzureConnectionConfig } from './azureClient';
import { blockSizeFor, stagedUpload } from './blockUpload';
import { fromAzureMetadata, toAzureMetadata, toAzureMetadataName } from './metadataNames';
import { assertNames, assertTags } from './names';
import { blockCopy, sourceFor, type SourceAccess } from './serverCopy';
import { azureErrorCode, translateAzureError } from './translateError';

export interface AzureBlobObjectStoreConfig extends Partial<AzureConnectionConfig> {
  /** Use this client instead of building one from accountUrl/credential. */
  serviceClient?: BlobServiceClient;
  /** Single-shot limit and block size of a streamed put (default 16 MiB). Memory: blockSize × (concurrency + 1). */
  multipartThreshold?: number;
  /** Blocks staged concurrently per put or copy (default 4). */
  concurrency?: number;
  /** Copies up to this size use one Copy Blob From URL (default and Azure's maximum: 256 MiB). */
  syncCopyMaxBytes?: number;
  /** Block size of a larger copy (Put Block From URL; default 100 MiB). */
  copyBlockSize?: number;
  /** List page size (default 5000, Azure's maximum). */
  listPageSize?: number;
  /**
   * The account has blob versioning on: versionIds are returned and honoured. Off (the default,
   * and the only choice on Azurite, which has no versions): put returns no versionId and every
   * versionId option is refused with UnsupportedOptionError, never silently read as "current".
   */
  versioning?: boolean;
}

export const AZURE_DEFAULT_BLOCK_SIZE = 16 * 1024 * 1024;
const SYNC_COPY_LIMIT = 256 * 1024 * 1024;

export class AzureBlobObjectStore implements ObjectStore {
  readonly client: BlobServiceClient;
  private readonly threshold: number;
  private readonly concurrency: number;
  private readonly syncCopyMax: number;
  private readonly copyBlockSize: number;
  private readonly pageSize: number;
  private readonly versioning: boolean;
  private readonly access: SourceAccess;

  constructor(cfg: AzureBlobObjectStoreConfig) {
    if (!cfg.serviceClient && !cfg.accountUrl) throw new Error('AzureBlobObjectStore: accountUrl (or serviceClient) is required');
    this.client = cfg.serviceClient ?? createBlobServiceClient({ accountUrl: cfg.accountUrl as string, credential: cfg.credential, maxTries: cfg.maxTries });
    this.threshold = Math.max(1, cfg.multipartThreshold ?? AZURE_DEFAULT_BLOCK_SIZE);
    this.concurrency = Math.max(1, cfg.concurrency ?? 4);
    this.syncCopyMax = Math.min(SYNC_COPY_LIMIT, cfg.syncCopyMaxBytes ?? SYNC_COPY_LIMIT);
    this.copyBlockSize = cfg.copyBlockSize ?? 100 * 1024 * 1024;
    this.pageSize = cfg.listPageSize ?? 5000;
    this.versioning = cfg.versioning ?? false;
    this.access = sourceAccessOf(this.client, cfg.credential);
  }

  /** The blob client for a key (names checked; a versionId only where versions exist). */
  private blob(bucket: string, key: string, versionId: string | undefined): BlockBlobClient {
    assertNames(bucket, key);
    const b = this.client.getContainerClient(bucket).getBlockBlobClient(key);
    if (versionId === undefined) return b;
    if (!this.versioning) {
      throw new UnsupportedOptionError(bucket, key, 'versionId', 'this Azure store has no blob versions (versioning off, or Azurite, which has none)');
    }
    return b.withVersion(versionId).getBlockBlobClient();
  }

  async head(bucket: string, key: string, opts: HeadOptions = {}): Promise<ObjectInfo> {
    const blob = this.blob(bucket, key, opts.versionId);
    try {
      const p = await blob.getProperties({ conditions: ifMatch(opts.ifMatch) });
      const info = toInfo(bucket, key, { ...p, versionId: this.versioning ? p.versionId : undefined });
      if (opts.withTags) info.tags = (await blob.getTags()).tags;
      return info;
    } catch (err) {
      throw translateAzureError(err, bucket, key);
    }
  }

  async get(bucket: string, key: string, opts: ReadOptions = {}): Promise<{ info: ObjectInfo; body: Readable }> {
    // Get Blob reports no access tier: read the properties, then the bytes pinned to their ETag.
    const info = await this.head(bucket, key, opts);
    const blob = this.blob(bucket, key, opts.versionId);
    try {
      const r = await blob.download(0, undefined, { conditions: ifMatch(info.etag), maxRetryRequests: 5 });
      return { info, body: r.readableStreamBody as Readable };
    } catch (err) {
      throw translateAzureError(err, bucket, key);
    }
  }

  async getRange(bucket: string, key: string, offset: number, length: number, opts: ReadOptions = {}): Promise<Buffer> {
    const blob = this.blob(bucket, key, opts.versionId);
    if (length <= 0) return Buffer.alloc(0);
    try {
      const r = await blob.download(offset, length, { conditions: ifMatch(opts.ifMatch), maxRetryRequests: 5 });
      return await buffer(r.readableStreamBody as Readable);
    } catch (err) {
      // A range starting at or past the end: nothing, as the port says (Azure answers 416).
      if (azureErrorCode(err) === 'InvalidRange') return Buffer.alloc(0);
      throw translateAzureError(err, bucket, key);
    }
  }

  async put(bucket: string, key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<PutResult> {
    const opts = normalizePutOptions(options);
    let blob: BlockBlobClient;
    let w: WriteParams;
    try {
      blob = this.blob(bucket, key, undefined);
      w = this.writeParams(bucket, key, opts);
    } catch (err) {
      if (!Buffer.isBuffer(body)) body.destroy();
      throw err;
    }
    const threshold = Math.max(1, opts.multipartThreshold ?? this.threshold);
    const conditions = { ...(opts.ifNoneMatch ? { ifNoneMatch: '*' } : {}), ...ifMatch(opts.ifMatch) };
    if (Buffer.isBuffer(body) && body.length <= threshold) return this.putSingle(blob, bucket, key, body, opts, w, conditions);
    const it: AsyncIterator<unknown> = (Buffer.isBuffer(body) ? Readable.from([body]) : body)[Symbol.asyncIterator]();
    // Read up to the threshold: a small body goes in one Put Blob whose hash is checked first.
    const head: Buffer[] = [];
    let seen = 0;
    while (!Buffer.isBuffer(body) && seen <= threshold) {
      let next: IteratorResult<unknown>;
      try {
        next = await it.next();
      } catch (err) {
        throw new StorageError(`${bucket}/${key}: reading the body failed; nothing committed`, bucket, key, false, { cause: err });
      }
      if (next.done) return this.putSingle(blob, bucket, key, Buffer.concat(head), opts, w, conditions);
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
      head.push(chunk);
      seen += chunk.length;
    }
    try {
      const r = await stagedUpload({
        blob,
        bucket,
        key,
        head,
        rest: it,
        blockSize: blockSizeFor(threshold, opts.size),
        concurrency: this.concurrency,
        expect: { sha256: opts.sha256, size: opts.size },
        headers: { blobContentType: opts.contentType },
        metadata: w.metadata,
        commit: { tags: w.tags, tier: w.tier, conditions },
      });
      return { ...r, etag: unquote(r.etag), versionId: this.versioning ? r.versionId : undefined };
    } catch (err) {
      throw translateAzureError(err, bucket, key);
    }
  }

  private async putSingle(
    blob: BlockBlobClient,
    bucket: string,
    key: string,
    data: Buffer,
    opts: PutOptions,
    w: WriteParams,
    conditions: { ifNoneMatch?: string; ifMatch?: string },
  ): Promise<PutResult> {
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (opts.size !== undefined && opts.size !== data.length) throw new SizeMismatchError(bucket, key, opts.size, data.length);
    if (opts.sha256 !== undefined && opts.sha256 !== sha256) throw new ChecksumMismatchError(bucket, key, opts.sha256, sha256);
    try {
      const r = await blob.upload(data, data.length, {
        blobHTTPHeaders: { blobContentType: opts.contentType, blobContentMD5: createHash('md5').update(data).digest() },
        metadata: { ...w.metadata, [toAzureMetadataName(SHA256_METADATA_KEY)]: sha256 },
        tags: w.tags,
        tier: w.tier,
        conditions,
      });
      return { etag: unquote(r.etag), versionId: this.versioning ? r.versionId : undefined, sha256, size: data.length };
    } catch (err) {
      throw translateAzureError(err, bucket, key);
    }
  }

  /** Write options → Azure names, refusing what Azure cannot hold (a KMS key, unstorable tags or metadata). */
  private writeParams(bucket: string, key: string, opts: WriteOptions): WriteParams {
    if (opts.kmsKeyId) throw new UnsupportedOptionError(bucket, key, 'kmsKeyId', 'Azure encrypts with the account key or an encryption scope, not a KMS key');
    const metadata = { ...(opts.metadata ?? {}) };
    delete metadata[SHA256_METADATA_KEY];
    const tags = opts.tags && Object.keys(opts.tags).length > 0 ? opts.tags : undefined;
    if (tags) assertTags(tags, bucket, key);
    return { metadata: toAzureMetadata(metadata, bucket, key), tags, tier: toAccessTier(opts.storageClass, bucket, key) };
  }

  async copy(source: ObjectRef, target: { bucket: string; key: string }, opts: CopyOptions = {}): Promise<PutResult> {
    const src = await this.head(source.bucket, source.key, { versionId: source.versionId, withTags: !opts.replaceMetadata });
    const srcBlob = this.blob(source.bucket, source.key, source.versionId);
    const dst = this.blob(target.bucket, target.key, undefined);
    const sha256 = src.sha256 ?? '';
    const w = this.writeParams(target.bucket, target.key, opts.replaceMetadata ? opts : { storageClass: opts.storageClass, kmsKeyId: opts.kmsKeyId });
    const metadata = opts.replaceMetadata ? w.metadata : toAzureMetadata(withoutSha(src.metadata), target.bucket, target.key);
    if (sha256) metadata[toAzureMetadataName(SHA256_METADATA_KEY)] = sha256;
    const tags = (opts.replaceMetadata ? w.tags : src.tags) ?? {};
    const contentType = opts.replaceMetadata ? (opts.contentType ?? src.contentType) : src.contentType;
    try {
      let r: { etag: string; versionId?: string };
      if (src.size > this.syncCopyMax) {
        const md5 = (await srcBlob.getProperties()).contentMD5;
        r = await blockCopy({ source: srcBlob, sourceInfo: src, target: dst, access: this.access, blockSize: this.copyBlockSize, concurrency: this.concurrency, contentType, contentMD5: md5, metadata, tags, tier: w.tier });
      } else {
        r = await this.syncCopy(srcBlob, src, dst, metadata, tags, w.tier);
        // Copy Blob From URL copies the source's content type and cannot set one: a replaced
        // type is set right after, pinned to the copy's ETag (readers may see the old type briefly).
        if (contentType !== src.contentType) {
          const props = await dst.getProperties();
          const h = await dst.setHTTPHeaders({ ...httpHeadersOf(props), blobContentType: contentType }, { conditions: ifMatch(r.etag) });
          r = { ...r, etag: h.etag ?? r.etag };
        }
      }
      return { etag: unquote(r.etag), versionId: this.versioning ? r.versionId : undefined, sha256, size: src.size };
    } catch (err) {
      throw translateAzureError(err, target.bucket, target.key);
    }
  }

  private async syncCopy(srcBlob: BlobClient, src: ObjectInfo, dst: BlockBlobClient, metadata: Record<string, string>, tags: Record<string, string>, tier: AzureAccessTier | undefined) {
    const { url, sourceAuthorization } = await sourceFor(srcBlob, this.access);
    const r = await dst.syncCopyFromURL(url, { sourceConditions: ifMatch(src.etag), metadata, tags, tier, sourceAuthorization });
    return { etag: r.etag ?? '', versionId: r.versionId };
  }

  async *list(bucket: string, prefix?: string): AsyncIterable<ObjectSummary> {
    assertNames(bucket);
    const pages = this.client.getContainerClient(bucket).listBlobsFlat({ prefix: prefix || undefined }).byPage({ maxPageSize: this.pageSize });
    for (;;) {
      let page;
      try {
        page = await pages.next();
      } catch (err) {
        throw translateAzureError(err, bucket);
      }
      if (page.done) return;
      for (const b of page.value.segment.blobItems) {
        yield { key: b.name, size: b.properties.contentLength ?? 0, etag: unquote(b.properties.etag), lastModified: b.properties.lastModified, storageClass: fromAccessTier(b.properties.accessTier) };
      }
    }
  }

  async delete(bucket: string, key: string, opts: { versionId?: string } = {}): Promise<void> {
    const blob = this.blob(bucket, key, opts.versionId);
    try {
      // A blob with snapshots cannot be deleted alone; versions are the account's business.
      await blob.deleteIfExists(opts.versionId === undefined ? { deleteSnapshots: 'include' } : {});
    } catch (err) {
      const e = translateAzureError(err, bucket, key);
      if (e.name === 'NoSuchObjectError') return;
      throw e;
    }
  }
}

/** How copies authorise their source read, from the client's credential. */
function sourceAccessOf(client: BlobServiceClient, cfg: AzureConnectionConfig['credential']): SourceAccess {
  if (client.credential instanceof StorageSharedKeyCredential) return { kind: 'sas', credential: client.credential };
  if (cfg?.kind === 'token') {
    const cred = cfg.credential;
    return {
      kind: 'bearer',
      token: async () => {
        const t = await cred.getToken('https://storage.azure.com/.default');
        if (!t) throw new Error('the TokenCredential returned no token for https://storage.azure.com/.default');
        return t.token;
      },
    };
  }
  // A SAS client's URLs carry the SAS, which then authorises the source read too.
  return { kind: 'url' };
}

function ifMatch(etag: string | undefined): { ifMatch?: string } {
  return etag === undefined ? {} : { ifMatch: `"${etag.replace(/"/g, '')}"` };
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/"/g, '');
}

function withoutSha(m: Record<string, string>): Record<string, string> {
  const { [SHA256_METADATA_KEY]: _drop, ...rest } = m;
  return rest;
}

interface WriteParams {
  metadata: Record<string, string>;
  tags?: Record<string, string>;
  tier?: AzureAccessTier;
}

interface PropsLike {
  contentLength?: number;
  etag?: string;
  versionId?: string;
  lastModified?: Date;
  contentType?: string;
  accessTier?: string;
  metadata?: Record<string, string>;
  contentMD5?: Uint8Array;
  contentEncoding?: string;
  contentLanguage?: string;
  contentDisposition?: string;
  cacheControl?: string;
}

function httpHeadersOf(p: PropsLike) {
  return { blobContentMD5: p.contentMD5, blobContentEncoding: p.contentEncoding, blobContentLanguage: p.contentLanguage, blobContentDisposition: p.contentDisposition, blobCacheControl: p.cacheControl };
}

function toInfo(bucket: string, key: string, p: PropsLike): ObjectInfo {
  const metadata = fromAzureMetadata(p.metadata);
  return {
    bucket,
    key,
    size: p.contentLength ?? 0,
    etag: unquote(p.etag),
    versionId: p.versionId,
    lastModified: p.lastModified ?? new Date(0),
    contentType: p.contentType,
    storageClass: fromAccessTier(p.accessTier),
    metadata,
    sha256: metadata[SHA256_METADATA_KEY],
  };
}
