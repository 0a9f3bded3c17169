/** Member-name safety rules shared by the writer, the readers and extraction. */
import { UnsafeMemberNameError } from './errors';

/** Prefix of every object member; `manifest.json` sits beside it at the root. */
export const OBJECTS_PREFIX = 'objects/';
export const MANIFEST_NAME = 'manifest.json';

/** Throws UnsafeMemberNameError if `name` is empty, absolute, has a `..` segment or a NUL. */
export function validateMemberName(name: string, archive?: string): void {
  if (name.length === 0) throw new UnsafeMemberNameError(name, 'empty name', archive);
  if (name.includes('\0')) throw new UnsafeMemberNameError(name, 'contains NUL', archive);
  // Backslash and drive letters count as separators/roots too: the archive may be extracted on Windows.
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) {
    throw new UnsafeMemberNameError(name, 'absolute path', archive);
  }
  if (hasDotDotSegment(name)) throw new UnsafeMemberNameError(name, "contains a '..' segment", archive);
}

const isSeparator = (c: string | undefined): boolean => c === undefined || c === '/' || c === '\\';

/** True if a segment of `name` (separated by `/` or `\`) is exactly `..`; allocation-free, as every manifest object's name is checked on every read. */
function hasDotDotSegment(name: string): boolean {
  for (let i = name.indexOf('..'); i !== -1; i = name.indexOf('..', i + 1)) {
    if (isSeparator(i === 0 ? undefined : name[i - 1]) && isSeparator(name[i + 2])) return true;
  }
  return false;
}

/** The key relative to the archive root: `objects/` and a leading `./` stripped (stock tar archives). */
export function relativeKeyOf(name: string): string {
  let n = name;
  while (n.startsWith('./')) n = n.slice(2);
  return n.startsWith(OBJECTS_PREFIX) ? n.slice(OBJECTS_PREFIX.length) : n;
}
