/** Packs every regular file under a directory into one archive. */
import { closeSync, constants, fstatSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { ArchiveWriter, type ArchiveSummary, type ArchiveWriterOptions } from './ArchiveWriter';
import type { Manifest } from './manifest';

/** One file found under the directory. */
export interface DirFile {
  path: string;
  relativeKey: string;
}

/**
 * Every regular file under `dir` (symlinks are not followed), sorted by relative key. Only walks:
 * sizes and times are read when each file is packed, so packing starts ~40 ms sooner on the bench
 * corpus and a file's size is taken from the very descriptor its bytes are read from. Synchronous
 * on purpose: thousands of awaited calls cost far more in event-loop round trips than the walk.
 */
export async function listFiles(dir: string): Promise<DirFile[]> {
  return [...walkFiles(dir)];
}

/**
 * The same files as listFiles, yielded as the walk reaches them: only the directories on the
 * current path are held, not one object per file (200,000 of them cost ~40 MB).
 */
export function* walkFiles(dir: string): Generator<DirFile> {
  const list = (d: string): { name: string; isDir: boolean }[] =>
    // Sorting each directory's names, a directory's as "name/", visits keys in exactly the order a
    // sort of the whole relative keys would give ("a.txt" < "a/x" because '.' < '/').
    readdirSync(d, { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.isFile())
      .map((e) => ({ name: e.name, isDir: e.isDirectory(), sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  const stack: { path: string; prefix: string; entries: { name: string; isDir: boolean }[]; next: number }[] = [{ path: dir, prefix: '', entries: list(dir), next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const e = top.entries[top.next++];
    if (!e) {
      stack.pop();
      continue;
    }
    const path = join(top.path, e.name);
    if (e.isDir) stack.push({ path, prefix: `${top.prefix}${e.name}/`, entries: list(path), next: 0 });
    else yield { path, relativeKey: top.prefix + e.name };
  }
}

/** Packs `files` into `output` and resolves with the manifest's fields and object count only (memory stays flat at any file count). */
export async function packFilesSummary(
  files: Iterable<DirFile>,
  output: Writable,
  opts: ArchiveWriterOptions,
  onMember?: (f: DirFile, done: number) => void,
): Promise<{ summary: ArchiveSummary; writer: ArchiveWriter }> {
  const writer = await packInto(files, output, opts, onMember);
  return { summary: await writer.finishSummary(), writer };
}

/** Packs `files` into `output`; `onMember` is called after each file (for progress). */
export async function packFiles(
  files: Iterable<DirFile>,
  output: Writable,
  opts: ArchiveWriterOptions,
  onMember?: (f: DirFile, done: number) => void,
): Promise<{ manifest: Manifest; writer: ArchiveWriter }> {
  const writer = await packInto(files, output, opts, onMember);
  return { manifest: await writer.finish(), writer };
}

/** Every file added to a new writer, not yet finished (aborted on failure). */
async function packInto(files: Iterable<DirFile>, output: Writable, opts: ArchiveWriterOptions, onMember?: (f: DirFile, done: number) => void): Promise<ArchiveWriter> {
  const writer = new ArchiveWriter(output, opts);
  try {
    let i = 0;
    for (const f of files) {
      // Read synchronously straight into the writer's frame buffer. Measured on the bench corpus
      // (4000 files, warm page cache): readFileSync + copy cost ~90 ms CPU plus ~150 ms of GC,
      // FileHandle promises ~310 ms and callback fs.readFile ~460 ms with 16 reads in flight. The
      // main thread is the producer anyway, and frames compress on worker threads meanwhile.
      // O_NOFOLLOW and fstat: the size and type are those of the file actually read, even if the
      // path was swapped since the walk (O_NONBLOCK: opening a FIFO put there must not hang). A
      // file gone or no longer a regular file is recorded in the manifest's `skipped`, as tar
      // warns and goes on.
      const skip = (reason: string): void => writer.addSkipped(f.relativeKey, reason);
      let fd: number | undefined;
      try {
        fd = openSync(f.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') skip('removed after the directory walk');
        else if (code === 'ELOOP') skip('replaced by a symlink after the directory walk (not followed)');
        else throw err;
      }
      if (fd !== undefined) {
        try {
          const st = fstatSync(fd);
          if (st.isFile()) await writer.addMember({ key: f.relativeKey, relativeKey: f.relativeKey, size: st.size, lastModified: st.mtime }, { fd });
          else skip('no longer a regular file after the directory walk');
        } finally {
          closeSync(fd);
        }
      }
      onMember?.(f, ++i);
    }
    return writer;
  } catch (err) {
    await writer.abort(err);
    throw err;
  }
}
