/**
 * Azure account facts that need no SDK (so config checks and the CLI can use them without
 * loading @azure/storage-blob): Azurite's development account, loopback URLs, the default credential.
 */
import type { AzureCredentialConfig } from './azureClient';

/** Azurite's published development account (https://learn.microsoft.com/azure/storage/common/storage-use-azurite). */
export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
/** Azurite's published development key: public, works only against the emulator. */
export const AZURITE_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** True for a URL on a loopback host (where Azurite runs). */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
}

/** The storage account an account URL names: the host's first label, or the first path segment on loopback. */
export function accountNameOf(accountUrl: string): string {
  const u = new URL(accountUrl);
  return isLoopbackUrl(accountUrl) ? (u.pathname.split('/').filter(Boolean)[0] ?? '') : u.hostname.split('.')[0];
}

/**
 * The credential when none is configured: on a loopback URL, AZURE_STORAGE_CONNECTION_STRING when
 * set, else Azurite's development key; anywhere else there is no safe default and it throws.
 */
export function defaultCredential(accountUrl: string, env: NodeJS.ProcessEnv = process.env): AzureCredentialConfig {
  if (isLoopbackUrl(accountUrl)) {
    const cs = env.AZURE_STORAGE_CONNECTION_STRING;
    if (cs) return { kind: 'connectionString', connectionString: cs };
    return { kind: 'sharedKey', accountName: accountNameOf(accountUrl) || AZURITE_ACCOUNT_NAME, accountKey: AZURITE_ACCOUNT_KEY };
  }
  throw new Error(`${accountUrl}: no Azure credential configured (an account key or SAS from credentials_secret, or a TokenCredential)`);
}
