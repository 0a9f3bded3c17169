/** stagedUpload without a server: bounded blocks in flight, equal-length ids, no commit on a mismatch. */
import type { BlockBlobClient } from '@azure/storage-blob';
import { ChecksumMismatchError } from '../../shared/storage';
import { blockIdFactory, blockSizeFor, MAX_BLOCKS, stagedUpload } from '../../shared/storage/azure/blockUpload';
import { patternSha256, patternStream, sha256Hex } from '../helpers/bytes';

/** A BlockBlobClient stand-in that records staged blocks and the peak number in flight. */
function recordingBlob() {
  const staged: { id: string; length: number }[] = [];
  const commits: string[][] = [];
  let inFlight = 0;
  let peak = 0;
  const blob = {
    stageBlock: async (id: string, body: Buffer) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      staged.push({ id, length: body.length });
      inFlight--;
      return {};
    },
    commitBlockList: async (ids: string[]) => {
      commits.push(ids);
      return { etag: '"0x1"' };
    },
  };
  return { blob: blob as unknown as BlockBlobClient, staged, commits, peak: () => peak };
}

const base = { bucket: 'c', key: 'k', head: [], headers: {}, metadata: {}, commit: {} };

describe('Function: stagedUpload', () => {
  it('keeps at most `concurrency` blocks in flight and commits every block in order', async () => {
    // Prepare
    const r = recordingBlob();
    const size = 10 * 64 * 1024 + 17;
    // Act
    const out = await stagedUpload({ ...base, blob: r.blob, rest: patternStream(1, size, 16 * 1024)[Symbol.asyncIterator](), blockSize: 64 * 1024, concurrency: 2, expect: { sha256: patternSha256(1, size, 16 * 1024) } });
    // Assess
    expect(r.peak()).toBeLessThanOrEqual(2);
    expect(r.commits).toHaveLength(1);
    expect(r.commits[0]).toHaveLength(11);
    expect(new Set(r.commits[0].map((id) => id.length)).size).toBe(1);
    expect(out).toMatchObject({ size, etag: '"0x1"' });
  });

  it('stages but never commits when the sha256 disagrees', async () => {
    const r = recordingBlob();
    const act = stagedUpload({ ...base, blob: r.blob, rest: patternStream(2, 200_000)[Symbol.asyncIterator](), blockSize: 64 * 1024, concurrency: 4, expect: { sha256: sha256Hex('other') } });
    await expect(act).rejects.toBeInstanceOf(ChecksumMismatchError);
    expect(r.staged.length).toBeGreaterThan(0);
    expect(r.commits).toEqual([]);
  });
});

describe('Function: blockSizeFor / blockIdFactory', () => {
  it('raises the block size so a known size fits in 50,000 blocks, and makes ids of one length', () => {
    expect(blockSizeFor(16, undefined)).toBe(16);
    expect(blockSizeFor(16, 16 * MAX_BLOCKS * 3)).toBe(48);
    const id = blockIdFactory('0123456789abcdef');
    expect(new Set([id(0), id(9), id(49_999)].map((x) => x.length))).toEqual(new Set([id(0).length]));
    expect(id(0)).not.toBe(blockIdFactory()(0));
  });
});
