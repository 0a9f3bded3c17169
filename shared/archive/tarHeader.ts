/**
 * A minimal POSIX tar (ustar + pax) header builder and parser. Built by hand because a general
 * tar library per small file was the measured bottleneck (TOOLCHAIN.md: ~26 MB/s).
 */
import { ArchiveCorruptError } from './errors';

export const BLOCK = 512;
/** Largest size the 11-octal-digit ustar field can hold; larger sizes go into a pax record. */
const USTAR_MAX_SIZE = 0o77777777777;

/** Bytes of zero padding that follow `size` bytes of member data. */
export function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  buf.write(value, offset, length, 'utf8');
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  // length-1 digits, zero-padded, NUL-terminated (GNU tar's own layout).
  buf.write(value.toString(8).padStart(length - 1, '0'), offset, length - 1, 'ascii');
  buf[offset + length - 1] = 0;
}

function ustarBlock(name: string, size: number, mtime: number, type: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, 0o644);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h.write(type, 156, 1, 'ascii');
  h.write('ustar\u000000', 257, 8, 'ascii');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  h.write(sum.toString(8).padStart(6, '0'), 148, 6, 'ascii');
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

function paxRecord(key: string, value: string): string {
  // "<len> key=value\n" where <len> counts itself.
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len++;
  return `${len}${body}`;
}

function isPlainAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

/**
 * Header block(s) for a regular file: a pax `x` header first when the name is not plain ASCII,
 * longer than 100 bytes, or the size exceeds the ustar field.
 */
export function buildFileHeader(name: string, size: number, mtimeSeconds: number): Buffer {
  const mtime = Math.max(0, Math.floor(mtimeSeconds));
  const nameFits = isPlainAscii(name) && name.length <= 100;
  const sizeFits = size <= USTAR_MAX_SIZE;
  if (nameFits && sizeFits) return ustarBlock(name, size, mtime, '0');
  let records = '';
  if (!nameFits) records += paxRecord('path', name);
  if (!sizeFits) records += paxRecord('size', String(size));
  const paxData = Buffer.from(records, 'utf8');
  const shortName = asciiStub(name);
  const paxHeader = ustarBlock(`PaxHeaders/${shortName}`.slice(0, 100), paxData.length, mtime, 'x');
  const out = Buffer.alloc(BLOCK + paxData.length + padding(paxData.length) + BLOCK);
  paxHeader.copy(out, 0);
  paxData.copy(out, BLOCK);
  ustarBlock(shortName, sizeFits ? size : 0, mtime, '0').copy(out, out.length - BLOCK);
  return out;
}

/** An ASCII stand-in for the legacy name field (readers use the pax path). */
function asciiStub(name: string): string {
  const base = name.replace(/[^\x20-\x7e]/g, '_');
  return base.length <= 100 ? base : base.slice(base.length - 100);
}

/** One parsed 512-byte header block. */
export interface RawHeader {
  name: string;
  size: number;
  type: string;
  linkname: string;
}

function readString(b: Buffer, offset: number, length: number): string {
  const end = b.indexOf(0, offset);
  return b.toString('utf8', offset, end === -1 || end > offset + length ? offset + length : end);
}

function readNumber(b: Buffer, offset: number, length: number): number {
  if ((b[offset]! & 0x80) !== 0) {
    // GNU base-256 for large values.
    let v = 0;
    for (let i = offset + 1; i < offset + length; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = b.toString('ascii', offset, offset + length).replace(/[\0 ]+$/g, '').trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/** True if the block is all zeros (end-of-archive marker). */
export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Parses one header block; throws ArchiveCorruptError on a bad checksum. */
export function parseHeaderBlock(b: Buffer, archive?: string): RawHeader {
  const stored = readNumber(b, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i]!;
  if (stored !== sum || Number.isNaN(stored)) {
    throw new ArchiveCorruptError({ archive, check: 'tar-header' }, `tar header checksum mismatch (stored ${stored}, computed ${sum})`);
  }
  let name = readString(b, 0, 100);
  // Only POSIX ustar ("ustar\0") has a prefix field; GNU's "ustar  " reuses those bytes.
  if (b.toString('latin1', 257, 263) === 'ustar\0') {
    const prefix = readString(b, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  const size = readNumber(b, 124, 12);
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new ArchiveCorruptError({ archive, member: name, check: 'tar-header' }, `bad size field`);
  }
  const type = String.fromCharCode(b[156]!) === '\0' ? '0' : String.fromCharCode(b[156]!);
  return { name, size, type, linkname: readString(b, 157, 100) };
}

/** Parses pax extended-header records into key/value pairs. */
export function parsePax(data: Buffer, archive?: string): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    const len = sp === -1 ? NaN : parseInt(data.toString('ascii', pos, sp), 10);
    if (!Number.isFinite(len) || len <= 0 || pos + len > data.length) {
      if (data.subarray(pos).every((c) => c === 0)) break;
      throw new ArchiveCorruptError({ archive, check: 'tar-header' }, 'malformed pax record');
    }
    const rec = data.toString('utf8', sp + 1, pos + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    pos += len;
  }
  return out;
}
