/** Positional reads of a whole range from a file descriptor. */
import { read, readSync } from 'node:fs';
import { promisify } from 'node:util';

/**
 * Bodies up to this size are read and written with one synchronous call: on the 2-vCPU build
 * machine a thread-pool round trip cost several times such a syscall (see LocalObjectStore).
 */
export const SYNC_BODY_BYTES = 256 * 1024;

const readAt = promisify(read);

/** Fills `buf` from `position` (fewer bytes only at end of file); returns the bytes read. Large reads run on the thread pool. */
export async function readFully(fd: number, buf: Buffer, position: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const n = buf.length <= SYNC_BODY_BYTES ? readSync(fd, buf, done, buf.length - done, position + done) : (await readAt(fd, buf, done, buf.length - done, position + done)).bytesRead;
    if (n === 0) break;
    done += n;
  }
  return done;
}
