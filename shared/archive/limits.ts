/** Format limits shared by the writer and every reader (DESIGN.md "The archive"). */
import { compressBound } from 'zstd-napi/binding';

/** DESIGN.md: a large member is cut into frames of at most 32 MiB of tar bytes. */
export const MAX_FRAME_BYTES = 32 * 1024 * 1024;

/** zstd's worst case for a frame of MAX_FRAME_BYTES (header, block headers and checksum included). */
export const MAX_FRAME_COMPRESSED_BYTES = compressBound(MAX_FRAME_BYTES);

/** Our manifest.json is buffered whole by readers; a bigger one is not ours (a stock archive's user file) or hostile. */
export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;
