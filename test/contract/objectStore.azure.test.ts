/** The ObjectStore contract against Azure Blob Storage on Azurite, plus Azure-only checks. */
import { createObjectStore, type AzureBlobObjectStore } from '../../shared/storage';
import { uniqueName } from '../helpers/moto';
import { useAzurite } from '../helpers/azurite';
import { objectStoreContract, type ObjectStoreHarness } from './objectStore.contract';

const MiB = 1024 * 1024;

describe('Class: AzureBlobObjectStore (Azurite)', () => {
  const azurite = useAzurite();
  let harness: ObjectStoreHarness;
  let store: AzureBlobObjectStore;

  beforeAll(() => {
    store = createObjectStore({ kind: 'azure', accountUrl: azurite().accountUrl, multipartThreshold: 5 * MiB, listPageSize: 3 });
    harness = {
      store,
      newBucket: () => azurite().createContainer(uniqueName('b')),
      multipartThreshold: 5 * MiB,
      keepsOldVersions: false,
      listPageSize: 3,
      singlePartEtagIsMd5: false,
      versionIds: false,
    };
  });

  objectStoreContract(() => harness);
});
