/** Sequential tar header reading (ustar, pax `x`/`g`, GNU `L`/`K` long names) over a ByteSource. */
import type { ByteSource } from './ByteSource';
import { ArchiveCorruptError } from './errors';
import { validateMemberName } from './memberName';
import { BLOCK, isZeroBlock, padding, parseHeaderBlock, parsePax } from './tarHeader';

/** Extended headers larger than this are treated as corruption (bounded memory). */
const MAX_EXTENDED_HEADER = 1024 * 1024;

/** A member's resolved header. */
export interface TarMemberHeader {
  name: string;
  size: number;
  /** tar typeflag: '0' regular file, '5' directory, '2' symlink, ... */
  type: string;
  headerOffset: number;
  dataOffset: number;
}

async function readBlockData(src: ByteSource, size: number, archive: string | undefined, what: string): Promise<Buffer> {
  if (size > MAX_EXTENDED_HEADER) throw new ArchiveCorruptError({ archive, check: 'tar-header' }, `${what} of ${size} bytes is too large`);
  const data = await src.readExact(size);
  if (data.length < size || (await src.skip(padding(size))) < padding(size)) {
    throw new ArchiveCorruptError({ archive, check: 'truncated' }, `archive ends inside a ${what}`);
  }
  return data;
}

/**
 * Reads the next member header, or undefined at the end-of-archive block.
 * Validates the member name (UnsafeMemberNameError) before anyone can act on it.
 */
export async function readTarHeader(src: ByteSource, archive?: string): Promise<TarMemberHeader | undefined> {
  const headerOffset = src.position;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  for (;;) {
    const block = await src.readExact(BLOCK);
    if (block.length < BLOCK) {
      throw new ArchiveCorruptError({ archive, check: 'truncated' }, 'archive ends without the tar end-of-archive blocks');
    }
    if (isZeroBlock(block)) return undefined;
    const h = parseHeaderBlock(block, archive);
    if (h.type === 'x') {
      pax = { ...pax, ...parsePax(await readBlockData(src, h.size, archive, 'pax header'), archive) };
      continue;
    }
    if (h.type === 'g') {
      await readBlockData(src, h.size, archive, 'pax global header');
      continue;
    }
    if (h.type === 'L') {
      const data = await readBlockData(src, h.size, archive, 'GNU long name');
      const nul = data.indexOf(0);
      longName = data.toString('utf8', 0, nul === -1 ? data.length : nul);
      continue;
    }
    if (h.type === 'K') {
      await readBlockData(src, h.size, archive, 'GNU long link name');
      continue;
    }
    const name = pax.path ?? longName ?? h.name;
    validateMemberName(name, archive);
    let size = h.size;
    if (pax.size !== undefined) {
      size = Number(pax.size);
      if (!Number.isSafeInteger(size) || size < 0) {
        throw new ArchiveCorruptError({ archive, member: name, check: 'tar-header' }, `bad pax size ${JSON.stringify(pax.size)}`);
      }
    }
    // Links, directories and devices carry no data even if a size field says otherwise.
    if (h.type === '1' || h.type === '2' || h.type === '3' || h.type === '4' || h.type === '5' || h.type === '6') size = 0;
    return { name, size, type: h.type, headerOffset, dataOffset: src.position };
  }
}

/** True for typeflags whose data is a regular file's content. */
export function isRegularFile(type: string): boolean {
  return type === '0' || type === '7';
}
