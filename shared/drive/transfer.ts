/**
 * Moves one file's bytes from Drive into a Spool: binaries through alt=media, resuming a dropped
 * or stalled stream with a Range request and checking Drive's md5; exports through exportLinks
 * (restarted from the beginning when dropped, exports have no Range). A stream that sends nothing
 * for `idleTimeoutMs` counts as dropped: before, a stalled connection held its transfer slot for
 * the whole 30-minute response timeout.
 */
import type { Readable } from 'node:stream';
import { backoffDelay, classifyError, sleep, withBackoff, type BackoffOptions } from './backoff';
import type { DriveApi, DriveFile } from './DriveApi';
import { DriveAbortedError, DriveApiError, DriveChecksumError } from './errors';
import { Spool, type SpoolBudget } from './Spool';

/** A download sent no byte for the idle timeout (it is resumed like a dropped stream). */
export class DriveStalledError extends Error {
  constructor(readonly fileId: string, readonly idleMs: number, readonly offset: number) {
    super(`download of ${fileId} stalled: no data for ${idleMs} ms at byte ${offset}`);
    this.name = 'DriveStalledError';
  }
}

/** Default idle-read timeout: 60 s, Google's own guidance for a stalled resumable transfer. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface TransferOptions {
  backoff: BackoffOptions;
  /** Resumes in a row without a byte of progress before giving up (default 5): a long download over a flaky link goes on while bytes arrive. */
  maxResumes?: number;
  /** Whole-file attempts when the md5 disagrees (default 3). */
  md5Attempts?: number;
  spoolMemoryBytes?: number;
  spoolDir?: string;
  /** The run's spool budget (memory and disk of every spool at once); none: unbounded. */
  spoolBudget?: SpoolBudget;
  /** A response that sends nothing for this long is dropped and resumed (default 60 s). */
  idleTimeoutMs?: number;
  onRetry?: () => void;
}

/** Copies a response into the spool; the idle timer runs only while waiting for the network. */
async function drain(stream: Readable, spool: Spool, id: string, idleMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(() => stream.destroy(new DriveStalledError(id, idleMs, spool.size)), idleMs);
  };
  arm();
  try {
    for await (const chunk of stream) {
      clearTimeout(timer);
      await spool.write(chunk as Buffer);
      arm();
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Downloads a binary file, verified against md5Checksum and size; the caller disposes the spool. */
export async function downloadBinary(api: DriveApi, f: DriveFile, opts: TransferOptions): Promise<Spool> {
  const attempts = opts.md5Attempts ?? 3;
  const id = f.id ?? '';
  // Owners (and shared-drive organizers) may download a file flagged as abusive by acknowledging it.
  let acknowledgeAbuse = false;
  for (let attempt = 1; ; attempt++) {
    const spool = new Spool(opts.spoolMemoryBytes, opts.spoolDir, opts.spoolBudget);
    try {
      // Room for the whole file first: back-pressure on downloads, never a half-written spool.
      await spool.reserve(f.size !== undefined && f.size !== null ? Number(f.size) : 0, opts.backoff.signal);
      let resumes = 0;
      let sizeAtLastDrop = 0;
      for (;;) {
        let stream: Readable;
        try {
          stream = await api.openMedia(id, spool.size, acknowledgeAbuse);
        } catch (err) {
          if (!acknowledgeAbuse && err instanceof DriveApiError && err.reason === 'cannotDownloadAbusiveFile' && (f.ownedByMe || f.driveId)) {
            acknowledgeAbuse = true;
            continue;
          }
          throw err;
        }
        try {
          await drain(stream, spool, id, opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
          break;
        } catch (err) {
          if (opts.backoff.signal?.aborted) throw new DriveAbortedError({ cause: err });
          // A drop after progress starts the count again (also after the per-request download
          // timeout, which so bounds one request, not the file).
          if (spool.size > sizeAtLastDrop) resumes = 0;
          sizeAtLastDrop = spool.size;
          if (++resumes > (opts.maxResumes ?? 5)) throw classifyError(err, `files.get(media) ${id}`);
          opts.onRetry?.();
          await sleep(backoffDelay(resumes - 1, opts.backoff), opts.backoff.signal);
        }
      }
      const d = await spool.finish();
      const wantSize = f.size !== undefined && f.size !== null ? Number(f.size) : undefined;
      const bad = wantSize !== undefined && d.size !== wantSize
        ? new DriveChecksumError(id, String(wantSize), String(d.size))
        : f.md5Checksum && d.md5 !== f.md5Checksum ? new DriveChecksumError(id, f.md5Checksum, d.md5) : undefined;
      if (!bad) return spool;
      if (attempt >= attempts) throw bad;
      opts.onRetry?.();
    } catch (err) {
      await spool.dispose();
      throw err;
    }
    await spool.dispose();
  }
}

/** Downloads an export through its exportLinks URL. */
export async function downloadExport(api: DriveApi, link: string, opts: TransferOptions): Promise<Spool> {
  return withBackoff(
    'export',
    async () => {
      const spool = new Spool(opts.spoolMemoryBytes, opts.spoolDir, opts.spoolBudget);
      try {
        await drain(await api.openExport(link), spool, link, opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
        await spool.finish();
        return spool;
      } catch (err) {
        await spool.dispose();
        throw err;
      }
    },
    { ...opts.backoff, maxAttempts: opts.maxResumes ?? 5, onRetry: (i) => { opts.onRetry?.(); opts.backoff.onRetry?.(i); } },
  );
}
