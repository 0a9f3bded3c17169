/**
 * The state one LocalObjectStore shares with the modules that do its work (openVersion.ts,
 * commitVersion.ts, announce.ts, scanBucket.ts): one object, so each module takes what it needs
 * and the store class keeps only the port's methods.
 */
import type { Stats } from 'node:fs';
import type { DirSync } from './durable';
import type { FolderCache } from './FolderCache';
import type { KeyLock } from './KeyLock';
import type { LocalLayout } from './layout';
import type { LocalNotificationRule } from './notifications';
import type { SettleTracker } from './SettleTracker';
import type { Sidecar } from './sidecar';
import type { SidecarFiles } from './SidecarFiles';

export interface StoreParts {
  readonly layout: LocalLayout;
  /** awsRegion in emitted events. */
  readonly region: string;
  readonly rules: LocalNotificationRule[];
  readonly fsync: boolean;
  readonly settle: SettleTracker;
  readonly locks: KeyLock;
  readonly folders: FolderCache;
  readonly dirs: DirSync;
  readonly sidecars: SidecarFiles;
  /** Temp files of this store's writes in flight: sweepTempFiles leaves them alone. */
  readonly inFlight: Set<string>;
  /** Versions whose event is being sent right now (announceId): a concurrent scan leaves them alone. */
  readonly announcing: Set<string>;
}

/** An open, pinned version of one object: the descriptor keeps its bytes even if it is replaced. */
export interface Opened {
  fd: number;
  st: Stats;
  side: Sidecar;
}

/** Identifies one version in `announcing`. */
export function announceId(bucket: string, key: string, versionId: string): string {
  return `${bucket}\0${key}\0${versionId}`;
}

/** The errno code of a filesystem error. */
export function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Metadata keys lower-cased, as S3 stores them. */
export function lowerKeys(m: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}
