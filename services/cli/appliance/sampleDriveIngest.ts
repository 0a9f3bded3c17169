/**
 * The embedded default's Drive leg: start the bundled sample Drive server (a seeded workspace),
 * replay the scripted edit rounds earlier runs applied (so its state matches what was backed up),
 * optionally apply one more round, and run the real drive-ingest against it into the notifying
 * local source store, exactly as the ECS task runs against Google.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../../shared/config';
import { runDriveIngest, type DriveRunReport, type SubjectReport } from '../../../shared/drive';
import { sampleCredentials, startSampleDrive } from '../../sample-drive';
import type { LocalTopology } from './LocalTopology';

export interface SampleDriveRun {
  reports: DriveRunReport[];
  /** Scripted edit rounds applied so far (persisted in the data dir). */
  rounds: number;
  changes: string[];
}

/** Runs every drive source of the config against one sample Drive server. */
export async function ingestFromSampleDrive(
  config: Config,
  topology: LocalTopology,
  opts: { simulateChanges: boolean; onProgress?: (subject: string, report: SubjectReport) => void },
): Promise<SampleDriveRun> {
  const dir = join(topology.dataDir, 'sample-drive');
  mkdirSync(dir, { recursive: true });
  const roundsFile = join(dir, 'rounds');
  const previous = existsSync(roundsFile) ? Number(readFileSync(roundsFile, 'utf8')) || 0 : 0;
  const reports: DriveRunReport[] = [];
  const changes: string[] = [];
  let rounds = previous;
  // One server per domain: the sample workspace is seeded per domain (users admin@, alice@, bob@...).
  for (const source of config.drive_sources) {
    const drive = await startSampleDrive({ seed: 42, domain: source.domain, dataDir: join(dir, source.name) });
    try {
      for (let i = 0; i < previous; i++) drive.simulateChanges();
      if (opts.simulateChanges) {
        changes.push(...drive.simulateChanges());
        rounds = previous + 1;
      }
      reports.push(
        await runDriveIngest({
          source,
          store: topology.store(source.target.region),
          credentials: sampleCredentials(),
          rootUrl: drive.url,
          onProgress: opts.onProgress,
        }),
      );
    } finally {
      await drive.close();
    }
  }
  writeFileSync(roundsFile, String(rounds));
  return { reports, rounds, changes };
}
