/** Pick the ObjectStore adapter from a typed config (one place wires them all). */
import type { AzureBlobObjectStore, AzureBlobObjectStoreConfig } from './azure/AzureBlobObjectStore';
import { LocalObjectStore, type LocalObjectStoreConfig } from './local/LocalObjectStore';
import type { ObjectStore } from './port';
import { S3ObjectStore, type S3ObjectStoreConfig } from './s3/S3ObjectStore';

export type ObjectStoreConfig =
  | ({ kind: 's3' } & S3ObjectStoreConfig)
  | ({ kind: 'local' } & LocalObjectStoreConfig)
  | ({ kind: 'azure' } & AzureBlobObjectStoreConfig);

/** The adapter for `cfg.kind`: 's3' (AWS or an emulator endpoint), 'local' (a folder) or 'azure' (one storage account, or Azurite). */
export function createObjectStore(cfg: { kind: 's3' } & S3ObjectStoreConfig): S3ObjectStore;
export function createObjectStore(cfg: { kind: 'local' } & LocalObjectStoreConfig): LocalObjectStore;
export function createObjectStore(cfg: { kind: 'azure' } & AzureBlobObjectStoreConfig): AzureBlobObjectStore;
export function createObjectStore(cfg: ObjectStoreConfig): ObjectStore;
export function createObjectStore(cfg: ObjectStoreConfig): ObjectStore {
  switch (cfg.kind) {
    case 's3':
      return new S3ObjectStore(cfg);
    case 'local':
      return new LocalObjectStore(cfg);
    case 'azure': {
      // Loaded on first use: @azure/storage-blob costs ~0.3 s of start-up nobody on AWS needs.
      const { AzureBlobObjectStore: Store } = require('./azure/AzureBlobObjectStore') as typeof import('./azure/AzureBlobObjectStore');
      return new Store(cfg);
    }
  }
}
