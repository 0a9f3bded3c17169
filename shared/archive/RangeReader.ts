/** Random access to the bytes of one archive: a local file or an S3 object via ranged GETs. */
export interface RangeReader {
  /** Total size in bytes. */
  size(): Promise<number>;
  /** Bytes [offset, offset+length), clamped at the end. */
  read(offset: number, length: number): Promise<Buffer>;
}
