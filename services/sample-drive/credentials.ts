/** Throwaway service-account credentials for the sample Drive (it reads the JWT's `sub`, not its signature). */
import { generateKeyPairSync } from 'node:crypto';
import type { ServiceAccountCredentials } from '../../shared/drive';

let key: string | undefined;

/** A fake service-account key, generated once per process; never valid at Google. */
export function sampleCredentials(): ServiceAccountCredentials {
  key ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { type: 'service_account', client_email: 'xregion-sample@sample-drive.iam.gserviceaccount.com', private_key: key };
}
