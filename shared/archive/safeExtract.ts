/** Extraction targets that can never land outside the destination directory. */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { UnsafeMemberNameError } from './errors';
import { validateMemberName } from './memberName';

/**
 * Resolves `relativeKey` under `root`, creating parent directories. Refuses unsafe names and any
 * existing path component that is a symlink or not a directory (no escaping via planted links).
 * Returns the final path, a fresh temporary sibling to write to before renaming, and the folders
 * it created (outermost first), so a failed extraction can remove what it made.
 */
export async function safeExtractPath(root: string, relativeKey: string): Promise<{ path: string; tmp: string; created: string[] }> {
  validateMemberName(relativeKey);
  const base = await realpath(root);
  const parts = relativeKey.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) throw new UnsafeMemberNameError(relativeKey, 'names no file');
  let cur = base;
  const created: string[] = [];
  for (const part of parts.slice(0, -1)) {
    cur = join(cur, part);
    const st = await lstat(cur).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!st) {
      await mkdir(cur);
      created.push(cur);
    } else if (st.isSymbolicLink() || !st.isDirectory()) {
      throw new UnsafeMemberNameError(relativeKey, `${cur} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}`);
    }
  }
  const path = join(cur, parts[parts.length - 1]!);
  if (!path.startsWith(base + sep)) throw new UnsafeMemberNameError(relativeKey, 'resolves outside the destination');
  const existing = await lstat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new UnsafeMemberNameError(relativeKey, `${path} is a directory`);
  // rename() over a symlink replaces the link itself, never its target.
  return { path, tmp: join(cur, `.${parts[parts.length - 1]!.slice(0, 40)}.${randomBytes(6).toString('hex')}.partial`), created };
}
