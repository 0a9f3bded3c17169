/**
 * A run's local scratch folder (spooled downloads, index logs):
 * `{parent}/xregion-drive/{pid}-{runId}/`, removed at the end of the run. A run killed (SIGKILL,
 * OOM, a lost host) leaves its folder behind — a multi-GiB spool file each time — so every run
 * first removes the folders of processes that are gone, and the flat `xregion-drive-*.part` files
 * that builds before this folder wrote straight into the temp dir.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

const ROOT = 'xregion-drive';
/** Flat spool files of earlier builds are swept once this old (a live one is written or read often). */
const LEGACY_AGE_MS = 60 * 60_000;

/** Whether a process id is alive on this host (EPERM: alive, another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface RunScratch {
  dir: string;
  /** Paths removed because their run is gone. */
  swept: string[];
  /** Removes the folder. */
  close(): Promise<void>;
}

/** Sweeps what dead runs left under `parent`, then makes this run's folder. */
export async function openRunScratch(parent: string, runId: string): Promise<RunScratch> {
  const root = join(parent, ROOT);
  const swept: string[] = [];
  for (const name of await fs.readdir(root).catch(() => [] as string[])) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    await fs.rm(join(root, name), { recursive: true, force: true });
    swept.push(join(root, name));
  }
  for (const name of await fs.readdir(parent).catch(() => [] as string[])) {
    if (!/^xregion-drive-[0-9a-f]+\.part$/.test(name)) continue;
    const p = join(parent, name);
    const st = await fs.stat(p).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > LEGACY_AGE_MS) {
      await fs.rm(p, { force: true });
      swept.push(p);
    }
  }
  const dir = join(root, `${process.pid}-${runId}`);
  await fs.mkdir(dir, { recursive: true });
  return { dir, swept, close: () => fs.rm(dir, { recursive: true, force: true }) };
}
