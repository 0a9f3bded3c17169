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

/**
 * safeExtractPath for many files under one root: each folder is checked (or created) once and
 * remembered, and temporary names come from a counter (randomBytes per file cost ~20 µs). A bulk
 * extraction of thousands of files into a few folders otherwise lstat'ed every component of
 * every path. Folder walks run one at a time, so parallel callers never race on mkdir.
 */
export class SafePathResolver {
  private readonly checked = new Map<string, string>();
  private walking: Promise<unknown> = Promise.resolve();
  private readonly tag = randomBytes(6).toString('hex');
  private count = 0;

  constructor(readonly root: string) {}

  /** The final path and a fresh temporary sibling of `relativeKey`, and the folders made for it (outermost first). */
  async resolve(relativeKey: string): Promise<{ path: string; tmp: string; created: string[] }> {
    validateMemberName(relativeKey);
    const cut = relativeKey.lastIndexOf('/');
    const dir = cut < 0 ? '' : relativeKey.slice(0, cut);
    const name = relativeKey.slice(cut + 1);
    const folder = this.checked.get(dir);
    if (folder !== undefined && name !== '' && name !== '.' && name !== '..') return { path: join(folder, name), tmp: this.tmpIn(folder, name), created: [] };
    const next = this.walking.then(async () => {
      const r = await safeExtractPath(this.root, relativeKey);
      const parent = r.path.slice(0, r.path.length - name.length - 1);
      // Only a plain `dir/name` spelling is cached (`a//b`, `./a` resolve through the full walk).
      if (r.path.endsWith(sep + name) && (dir === '' || parent.endsWith(sep + dir.split('/').join(sep)))) this.checked.set(dir, parent);
      return { path: r.path, tmp: this.tmpIn(parent, name), created: r.created };
    });
    this.walking = next.catch(() => undefined);
    return next;
  }

  private tmpIn(folder: string, name: string): string {
    return join(folder, `.${name.slice(0, 40)}.${this.tag}-${(this.count++).toString(36)}.partial`);
  }
}
