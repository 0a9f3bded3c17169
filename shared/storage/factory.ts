/** Pick the ObjectStore adapter from a typed config (one place wires them all). */
import { LocalObjectStore, type LocalObjectStoreConfig } from './local/LocalObjectStore';
import type { ObjectStore } from './port';
import { S3ObjectStore, type S3ObjectStoreConfig } from './s3/S3ObjectStore';

export type ObjectStoreConfig = ({ kind: 's3' } & S3ObjectStoreConfig) | ({ kind: 'local' } & LocalObjectStoreConfig);

/** The adapter for `cfg.kind`: 's3' (AWS or an emulator endpoint) or 'local' (a folder). */
export function createObjectStore(cfg: { kind: 's3' } & S3ObjectStoreConfig): S3ObjectStore;
export function createObjectStore(cfg: { kind: 'local' } & LocalObjectStoreConfig): LocalObjectStore;
export function createObjectStore(cfg: ObjectStoreConfig): ObjectStore;
export function createObjectStore(cfg: ObjectStoreConfig): ObjectStore {
  switch (cfg.kind) {
    case 's3':
      return new S3ObjectStore(cfg);
    case 'local':
      return new LocalObjectStore(cfg);
  }
}
