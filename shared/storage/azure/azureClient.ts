/**
 * Typed connection settings for Azure Blob Storage: an account URL and one credential (default:
 * account.ts). Nothing here logs a credential; keys and SAS tokens live only inside the SDK client.
 */
import type { TokenCredential } from '@azure/core-auth';
import { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential, StorageRetryPolicyType } from '@azure/storage-blob';
import { defaultCredential } from './account';

export type AzureCredentialConfig =
  /** Account name + key (e.g. from a secret): requests are signed; copies use short-lived SAS URLs. */
  | { kind: 'sharedKey'; accountName: string; accountKey: string }
  /** A SAS token (with or without the leading '?'), appended to every URL. */
  | { kind: 'sas'; sasToken: string }
  /** Any @azure/core-auth TokenCredential, e.g. DefaultAzureCredential from @azure/identity. */
  | { kind: 'token'; credential: TokenCredential }
  /** A full connection string (AZURE_STORAGE_CONNECTION_STRING); its endpoint wins over accountUrl. */
  | { kind: 'connectionString'; connectionString: string };

export interface AzureConnectionConfig {
  /** `https://ACCOUNT.blob.core.windows.net` or Azurite's path style `http://127.0.0.1:PORT/devstoreaccount1`. */
  accountUrl: string;
  /** Default: defaultCredential() (Azurite's development key on a loopback URL). */
  credential?: AzureCredentialConfig;
  /** SDK tries per request including the first (default 10, as on S3). */
  maxTries?: number;
}

/** A BlobServiceClient for this connection. */
export function createBlobServiceClient(cfg: AzureConnectionConfig): BlobServiceClient {
  const cred = cfg.credential ?? defaultCredential(cfg.accountUrl);
  const options = {
    // Exponential backoff capped at 20 s, 10 tries: rides out about a minute of ServerBusy, as on S3.
    retryOptions: { maxTries: cfg.maxTries ?? 10, retryPolicyType: StorageRetryPolicyType.EXPONENTIAL, retryDelayInMs: 500, maxRetryDelayInMs: 20_000 },
    // Plain requests with our own MD5s: the SDK's structured CRC64 bodies are newer than Azurite.
    uploadContentChecksumAlgorithm: 'None' as const,
    downloadContentChecksumAlgorithm: 'None' as const,
  };
  const url = cfg.accountUrl.replace(/\/+$/, '');
  switch (cred.kind) {
    case 'sharedKey':
      return new BlobServiceClient(url, new StorageSharedKeyCredential(cred.accountName, cred.accountKey), options);
    case 'sas':
      return new BlobServiceClient(`${url}?${cred.sasToken.replace(/^\?/, '')}`, new AnonymousCredential(), options);
    case 'token':
      return new BlobServiceClient(url, cred.credential, options);
    case 'connectionString':
      return BlobServiceClient.fromConnectionString(cred.connectionString, options);
  }
}
