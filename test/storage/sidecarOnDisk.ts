/** Test helper: where the local store keeps a key's sidecar, and what it says (format 2; sidecar.ts). */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** `<root>/.sidecars/<bucket>/<md5(key)>`. */
export function sidecarPath(root: string, bucket: string, key: string): string {
  return path.join(root, '.sidecars', bucket, createHash('md5').update(key).digest('hex'));
}

/** The sidecar's facts, `announced` from its flag byte. */
export function readSidecarFile(root: string, bucket: string, key: string): Record<string, unknown> & { announced: boolean; ino: number } {
  const buf = readFileSync(sidecarPath(root, bucket, key));
  const nl = buf.indexOf(0x0a);
  return { ...JSON.parse(buf.subarray(nl + 1).toString('utf8')), announced: buf[0] === 0x41 };
}

/** Overwrites the sidecar with these facts (a crash's leftovers, say). */
export function writeSidecarFile(root: string, bucket: string, key: string, side: Record<string, unknown> & { versionId: string; announced: boolean }): void {
  const { announced, ...rest } = side;
  writeFileSync(sidecarPath(root, bucket, key), `${announced ? 'A' : '-'}${side.versionId}\n${JSON.stringify({ ...rest, key })}`);
}
