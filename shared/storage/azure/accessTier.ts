/**
 * Storage class ↔ Azure access tier. Callers may pass S3's names (what the port speaks and the
 * router passes) or Azure's tier names; reads report S3's names, as the port promises.
 * The mapping follows minimum storage duration and retrieval latency: STANDARD_IA and Cool both
 * bill 30 days; GLACIER_IR and Cold are online with a 90-day minimum; GLACIER and DEEP_ARCHIVE,
 * like Archive, must be restored (rehydrated) before a read. Azure has no per-blob automatic
 * tiering and no reduced-redundancy class, so INTELLIGENT_TIERING and REDUCED_REDUNDANCY are Hot.
 */
import { StorageError } from '../errors';

export const AZURE_ACCESS_TIERS = ['Hot', 'Cool', 'Cold', 'Archive'] as const;
export type AzureAccessTier = (typeof AZURE_ACCESS_TIERS)[number];

const FROM_S3: Record<string, AzureAccessTier> = {
  STANDARD: 'Hot',
  REDUCED_REDUNDANCY: 'Hot',
  INTELLIGENT_TIERING: 'Hot',
  STANDARD_IA: 'Cool',
  ONEZONE_IA: 'Cool',
  GLACIER_IR: 'Cold',
  GLACIER: 'Archive',
  DEEP_ARCHIVE: 'Archive',
};

/** What a read reports for each tier: one S3 name per tier, so put → head round-trips the common classes. */
const TO_S3: Record<AzureAccessTier, string> = { Hot: 'STANDARD', Cool: 'STANDARD_IA', Cold: 'GLACIER_IR', Archive: 'DEEP_ARCHIVE' };

/** The access tier for a storage class or tier name; undefined leaves the account's default tier. */
export function toAccessTier(storageClass: string | undefined, bucket: string, key: string): AzureAccessTier | undefined {
  if (!storageClass) return undefined;
  const tier = AZURE_ACCESS_TIERS.find((t) => t.toLowerCase() === storageClass.toLowerCase()) ?? FROM_S3[storageClass.toUpperCase()];
  if (!tier) {
    throw new StorageError(
      `${bucket}/${key}: storage class "${storageClass}" has no Azure access tier (${AZURE_ACCESS_TIERS.join(', ')} or an S3 class: ${Object.keys(FROM_S3).join(', ')})`,
      bucket,
      key,
      false,
    );
  }
  return tier;
}

/** The port's storage class for an Azure tier as reported (absent or unknown: STANDARD). */
export function fromAccessTier(tier: string | undefined): string {
  const t = AZURE_ACCESS_TIERS.find((x) => x.toLowerCase() === (tier ?? '').toLowerCase());
  return t ? TO_S3[t] : 'STANDARD';
}
