/**
 * shared/archive — the seekable .tar.zst archive format (DESIGN.md "The archive"): writing
 * archives from member streams, reading their index and single members through ranged reads,
 * sequential reading of whole archive streams (ours or stock `tar | zstd`), and the
 * member-name safety rules. Owns the format; knows nothing about S3 or Drive.
 */
export { ArchiveWriter, DEFAULT_FRAME_TARGET_BYTES, DEFAULT_THREADS, MAX_FRAME_BYTES, prewarmArchiveWriter } from './ArchiveWriter';
export type { ArchiveSummary, ArchiveWriterOptions, ArchiveWriterStats, MemberBody, MemberInput } from './ArchiveWriter';
export { ArchiveReader } from './ArchiveReader';
export type { ArchiveIndex, ArchiveReaderStats } from './ArchiveReader';
export { ArchiveEntryStream, readArchiveStream } from './readArchiveStream';
export type { ArchiveEntry, ReadArchiveStreamOptions } from './readArchiveStream';
export { LocalFileRangeReader } from './LocalFileRangeReader';
export type { RangeReader } from './RangeReader';
export { readSeekTable } from './seekTable';
export { decompressSeekFrame } from './seekFrame';
export type { SeekFrame, SeekTable } from './seekTable';
export { ARCHIVE_FORMAT, parseManifest } from './manifest';
export type { ArchiveSource, Manifest, ManifestObject } from './manifest';
export { MANIFEST_NAME, OBJECTS_PREFIX, relativeKeyOf, validateMemberName } from './memberName';
export * from './errors';
export { listFiles, packFiles, packFilesSummary, walkFiles } from './packDirectory';
export type { DirFile } from './packDirectory';
export { safeExtractPath } from './safeExtract';
export { ExtractOutput } from './ExtractOutput';
export { extractArchive } from './extractArchive';
export type { ExtractArchiveOptions } from './extractArchive';
export { readArchive } from './readArchiveStream';
export { FrameDecoderPool, FrameDecoderPoolError, sharedFrameDecoderPool } from './FrameDecoderPool';
export type { DecodedFrame } from './FrameDecoderPool';
export { FileWriterPool, FileWriteError, sharedFileWriterPool } from './FileWriterPool';
export type { FileToWrite } from './FileWriterPool';
export { SafePathResolver } from './safeExtract';
export type { StagedFile } from './ExtractOutput';
