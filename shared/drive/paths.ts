/**
 * Object keys and metadata for Drive files: name escaping, duplicate suffixes, export
 * extensions, the two key layouts, exclude patterns, and ASCII-safe S3 metadata values.
 */
import { EXPORT_MIME } from './mimeTypes';

/**
 * Makes a Drive name safe as one key segment: '/' becomes '%2F' (Drive allows it in names),
 * control characters are dropped, and '', '.', '..' (which stores reject) become '_', '%2E', '%2E%2E'.
 */
export function escapeName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const s = name.replace(/\//g, '%2F').replace(/[\u0000-\u001f\u007f]/g, '');
  if (s === '') return '_';
  if (s === '.' || s === '..') return s.replace(/\./g, '%2E');
  return s;
}

/** Splits off an extension (`a.tar.gz` → ['a.tar', '.gz']; dotfiles have none). */
export function splitExt(name: string): [string, string] {
  const i = name.lastIndexOf('.');
  if (i <= 0 || i === name.length - 1) return [name, ''];
  return [name.slice(0, i), name.slice(i)];
}

/** `report.pdf` + id → `report [id].pdf`: how a duplicate name in one folder is told apart. */
export function withIdSuffix(name: string, fileId: string): string {
  const [stem, ext] = splitExt(name);
  return `${stem} [${fileId}]${ext}`;
}

/** The stored name of an export: the format's extension appended unless already there. */
export function exportName(name: string, format: string): string {
  return name.toLowerCase().endsWith(`.${format}`) ? name : `${name}.${format}`;
}

/** MIME type of an export format. */
export function exportMime(format: string): string {
  return EXPORT_MIME[format] ?? 'application/octet-stream';
}

/** The object key: user_first `{prefix}{owner}/{path}`, date_first `{prefix}{YYYY-MM-DD}/{owner}/{path}`. */
export function buildKey(layout: 'user_first' | 'date_first', prefix: string, owner: string, path: string, backupDate: Date): string {
  const day = backupDate.toISOString().slice(0, 10);
  return layout === 'date_first' ? `${prefix}${day}/${owner}/${path}` : `${prefix}${owner}/${path}`;
}

/** Glob match (`*`, `?`, `[..]`) against a file name or, when the pattern has '/', its path. */
export function matchesPattern(pattern: string, name: string, path: string): boolean {
  const target = pattern.includes('/') ? path : name;
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') { re += '.*'; i++; } else re += pattern.includes('/') ? '[^/]*' : '.*';
    } else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end < 0) re += '\\[';
      else { re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`; i = end; }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's').test(target);
}

/**
 * S3 user metadata must be ASCII. Values are percent-encoded (RFC 3986 style, UTF-8): every byte
 * outside printable ASCII, and '%' itself, so `decodeURIComponent(value)` always restores it.
 */
export function encodeMetadataValue(v: string, maxLength = Infinity): string {
  let out = '';
  for (const ch of v) {
    const code = ch.codePointAt(0)!;
    let piece: string;
    if (code >= 0x20 && code < 0x7f && ch !== '%') piece = ch;
    else if (code >= 0xd800 && code <= 0xdfff) piece = '%EF%BF%BD'; // a lone surrogate: U+FFFD
    else piece = encodeURIComponent(ch);
    // Cut only between characters, so a truncated value still decodes.
    if (out.length + piece.length > maxLength) break;
    out += piece;
  }
  return out;
}

/** Inverse of encodeMetadataValue. */
export function decodeMetadataValue(v: string): string {
  return decodeURIComponent(v);
}

/** Largest drive-path value kept (S3 allows 2 KB of user metadata in all). */
export const MAX_METADATA_PATH = 1024;
