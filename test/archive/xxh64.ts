/**
 * XXH64 (xxHash spec, seed 0) in BigInt: slow, test-only, and independent of zstd, so tests can
 * check that our seek tables hold what stock seekable-format readers compute.
 */
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;
const M = (1n << 64n) - 1n;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
const round = (acc: bigint, input: bigint): bigint => (rotl((acc + input * P2) & M, 31n) * P1) & M;
const merge = (acc: bigint, v: bigint): bigint => (((acc ^ round(0n, v)) * P1 + P4) & M);

/** XXH64 of `buf` with seed 0. */
export function xxh64(buf: Buffer): bigint {
  const len = buf.length;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (P1 + P2) & M;
    let v2 = P2;
    let v3 = 0n;
    let v4 = -P1 & M;
    for (; p + 32 <= len; p += 32) {
      v1 = round(v1, buf.readBigUInt64LE(p));
      v2 = round(v2, buf.readBigUInt64LE(p + 8));
      v3 = round(v3, buf.readBigUInt64LE(p + 16));
      v4 = round(v4, buf.readBigUInt64LE(p + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(len)) & M;
  for (; p + 8 <= len; p += 8) h = ((rotl(h ^ round(0n, buf.readBigUInt64LE(p)), 27n) * P1 + P4) & M);
  if (p + 4 <= len) {
    h = ((rotl(h ^ ((BigInt(buf.readUInt32LE(p)) * P1) & M), 23n) * P2 + P3) & M);
    p += 4;
  }
  for (; p < len; p++) h = (rotl(h ^ ((BigInt(buf[p]!) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}

/** The seekable format's per-frame checksum: the low 32 bits of XXH64 of the decompressed frame. */
export function seekChecksum(content: Buffer): number {
  return Number(xxh64(content) & 0xffffffffn);
}
