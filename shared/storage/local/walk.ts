/** Walk a bucket folder yielding keys in S3's order (UTF-8 byte order of the whole key). */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { keyProblem } from './layout';

/**
 * Yields `{ key, file }` for every regular file under `bucketDir` whose key starts with `prefix`.
 * Sorting each folder's entries by `name + '/'` for folders and `name` for files makes a
 * depth-first walk produce whole keys in byte order (`a-c` < `a/b` because '-' < '/').
 */
export async function* walkKeys(bucketDir: string, prefix = ''): AsyncGenerator<{ key: string; file: string }> {
  const slash = prefix.lastIndexOf('/');
  const startRel = slash >= 0 ? prefix.slice(0, slash + 1) : '';
  yield* walkDir(path.join(bucketDir, ...startRel.split('/').filter(Boolean)), startRel, prefix);
}

async function* walkDir(dir: string, rel: string, prefix: string): AsyncGenerator<{ key: string; file: string }> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw err;
  }
  const items = entries
    .filter((e) => e.isFile() || e.isDirectory())
    .map((e) => ({ name: e.name, dir: e.isDirectory(), sortKey: Buffer.from(e.isDirectory() ? `${rel}${e.name}/` : `${rel}${e.name}`) }))
    .filter((e) => {
      const k = e.sortKey.toString();
      // Only entries that can still lead to keys under the prefix.
      return k.startsWith(prefix) || (e.dir && prefix.startsWith(k));
    })
    .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
  for (const e of items) {
    const key = `${rel}${e.name}`;
    if (e.dir) {
      yield* walkDir(path.join(dir, e.name), `${key}/`, prefix);
    } else if (keyProblem(key) === undefined) {
      yield { key, file: path.join(dir, e.name) };
    }
  }
}
