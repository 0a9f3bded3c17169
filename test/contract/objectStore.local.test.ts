/** The ObjectStore contract against the local filesystem adapter. */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createObjectStore, LocalObjectStore } from '../../shared/storage';
import { uniqueName } from '../helpers/moto';
import { objectStoreContract, type ObjectStoreHarness } from './objectStore.contract';

const MiB = 1024 * 1024;

describe('Class: LocalObjectStore', () => {
  let root: string;
  let harness: ObjectStoreHarness;

  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'xregion-local-store-'));
    const store = createObjectStore({ kind: 'local', root, multipartThreshold: 5 * MiB });
    expect(store).toBeInstanceOf(LocalObjectStore);
    harness = {
      store,
      newBucket: async () => {
        const b = uniqueName('b');
        await store.ensureBucket(b);
        return b;
      },
      multipartThreshold: 5 * MiB,
      keepsOldVersions: false,
      listPageSize: 1,
      singlePartEtagIsMd5: true,
    };
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  objectStoreContract(() => harness);
});
