/**
 * storage: the ObjectStore port (port.ts states the contract), its typed errors, and its
 * adapters: S3 (`s3/`, also moto), Azure Blob Storage (`azure/`, also Azurite) and the local
 * filesystem (`local/`, the embedded default, which also emits S3 event notifications). Plus the S3 event JSON parser every queue consumer
 * uses, and the S3 RangeReader for the archive engine.
 * Retries live in the SDK (maxAttempts/retryMode in the connection config), not in a wrapper.
 */
export * from './port';
export * from './errors';
export { parseS3Event, buildS3Event, buildS3TestEvent, encodeEventKey, decodeEventKey, type S3EventRecord, type S3EventInput } from './s3Event';
export { readJsonObject, writeJsonObject, headIfExists } from './jsonObject';
export { DigestStream, type DigestExpectation } from './DigestStream';
export { createObjectStore, type ObjectStoreConfig } from './factory';
export { S3ObjectStore, DEFAULT_MULTIPART_THRESHOLD, type S3ObjectStoreConfig } from './s3/S3ObjectStore';
export { S3RangeReader, type S3RangeReaderOptions } from './s3/S3RangeReader';
export { createS3Client, awsClientOptions, DEFAULT_MAX_ATTEMPTS, type AwsConnectionConfig, type AwsCredentials } from './s3/s3Client';
export { translateS3Error } from './s3/translateError';
export { LocalObjectStore, type LocalObjectStoreConfig } from './local/LocalObjectStore';
// Types only: the Azure adapter (and its SDK) loads when createObjectStore({ kind: 'azure' }) runs.
export type { AzureBlobObjectStore, AzureBlobObjectStoreConfig } from './azure/AzureBlobObjectStore';
export type { AzureConnectionConfig, AzureCredentialConfig } from './azure/azureClient';
export { AZURITE_ACCOUNT_NAME, AZURITE_ACCOUNT_KEY, accountNameOf, defaultCredential, isLoopbackUrl } from './azure/account';
export { AZURE_ACCESS_TIERS, type AzureAccessTier } from './azure/accessTier';
export { containerNameProblem } from './azure/names';
export { ruleMatches, type LocalNotificationRule, type LocalEventName } from './local/notifications';
