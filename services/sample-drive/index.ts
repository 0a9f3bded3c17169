/**
 * sample-drive: a Drive v3 + Admin Directory compatible HTTP server with a seeded sample
 * workspace, scripted edits and fault injection. Serves `npm start`, the tests and the benchmark,
 * reached by the real `googleapis` client through `rootUrl`.
 */
import type { FaultOptions } from './faults';
import { SampleDriveServer, type RequestStats } from './SampleDriveServer';
import { seedWorkspace, type SeedOptions } from './seed';

export { SampleDriveServer, type RequestStats } from './SampleDriveServer';
export { Workspace, type SampleFile, type SampleUser } from './Workspace';
export { seedWorkspace, simulateChanges, type SeedOptions } from './seed';
export type { FaultKind, FaultOptions, FaultRule } from './faults';

export interface SampleDriveOptions {
  port?: number;
  seed?: number;
  /** Folder for uploaded bodies (default: memory). */
  dataDir?: string;
  latencyMs?: number;
  faults?: FaultOptions;
  domain?: string;
  largeFileBytes?: number;
  bulk?: SeedOptions['bulk'];
}

export interface SampleDrive {
  /** Base URL ending in '/', to pass as googleapis `rootUrl`. */
  url: string;
  close(): Promise<void>;
  /** Applies the next round of scripted edits. */
  simulateChanges(): string[];
  server: SampleDriveServer;
  stats: RequestStats;
}

/** Starts a seeded sample Drive on 127.0.0.1. */
export async function startSampleDrive(opts: SampleDriveOptions = {}): Promise<SampleDrive> {
  const ws = seedWorkspace({ seed: opts.seed, domain: opts.domain, dataDir: opts.dataDir, largeFileBytes: opts.largeFileBytes, bulk: opts.bulk });
  const server = new SampleDriveServer(ws, { latencyMs: opts.latencyMs, faults: opts.faults });
  const url = await server.listen(opts.port ?? 0);
  return { url, close: () => server.close(), simulateChanges: () => server.simulateChanges(), server, stats: server.stats };
}
export { sampleCredentials } from './credentials';
