/** Test helpers: build archives with the real writer, or craft (possibly malicious) ones by hand. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Compressor } from 'zstd-napi';
import { ArchiveWriter, type ArchiveWriterOptions, type Manifest } from '../../shared/archive';
import { encodeSeekTable, parseSeekTable } from '../../shared/archive/seekTable';
import { buildFileHeader, padding } from '../../shared/archive/tarHeader';

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'xregion-archive-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `members` with the real ArchiveWriter into `path`. */
export async function writeArchive(
  path: string,
  members: { key: string; data: Buffer }[],
  opts: Partial<ArchiveWriterOptions> = {},
): Promise<{ manifest: Manifest; writer: ArchiveWriter }> {
  const writer = new ArchiveWriter(createWriteStream(path), {
    archiveName: 'test.tar.zst',
    source: { region: 'us-east-1', bucket: 'src', prefix: 'p/' },
    threads: 1,
    ...opts,
  });
  for (const m of members) {
    await writer.addMember({ key: `p/${m.key}`, relativeKey: m.key, size: m.data.length, metadata: { k: 'v' } }, Readable.from([m.data]));
  }
  const manifest = await writer.finish();
  return { manifest, writer };
}

/** One seek-table entry as the writer encodes it. */
export type SeekEntry = { compressedSize: number; decompressedSize: number; checksum: number };

/** `archive` with its seek table rebuilt from `edit` of its entries; the frames are untouched. */
export function editSeekTable(archive: Buffer, edit: (entries: SeekEntry[]) => void): Buffer {
  const table = parseSeekTable(archive, archive.length);
  if ('needBytes' in table) throw new Error('unreadable seek table');
  const entries = table.frames.map((f) => ({ compressedSize: f.compressedSize, decompressedSize: f.decompressedSize, checksum: f.checksum! }));
  edit(entries);
  return Buffer.concat([archive.subarray(0, table.compressedSize), encodeSeekTable(entries)]);
}

/** Reads a stream to one Buffer. */
export async function collect(s: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/**
 * Hand-built seekable archive that bypasses the writer's checks: one frame per member, the
 * manifest (as given) in the last frame. For unsafe-name and manifest-disagreement cases.
 */
export function craftArchive(members: { name: string; data: Buffer }[], manifest?: unknown): Buffer {
  const c = new Compressor();
  c.setParameters({ compressionLevel: 3, checksumFlag: true });
  const frames: Buffer[] = [];
  const entries: { compressedSize: number; decompressedSize: number; checksum: number }[] = [];
  const frame = (raw: Buffer): void => {
    const z = c.compress(raw);
    frames.push(z);
    entries.push({ compressedSize: z.length, decompressedSize: raw.length, checksum: z.readUInt32LE(z.length - 4) });
  };
  for (const m of members) {
    frame(Buffer.concat([rawHeader(m.name, m.data.length), m.data, Buffer.alloc(padding(m.data.length))]));
  }
  const tail: Buffer[] = [];
  if (manifest !== undefined) {
    const json = Buffer.from(JSON.stringify(manifest));
    tail.push(buildFileHeader('manifest.json', json.length, 0), json, Buffer.alloc(padding(json.length)));
  }
  tail.push(Buffer.alloc(1024));
  frame(Buffer.concat(tail));
  return Buffer.concat([...frames, encodeSeekTable(entries)]);
}

/** A ustar header for any name (no validation), via pax when needed. */
function rawHeader(name: string, size: number): Buffer {
  return buildFileHeader(name, size, 0);
}
