import type { Worker } from 'node:worker_threads';
import { FrameCompressor } from '../../shared/archive/FrameCompressor';

describe('Class: FrameCompressor', () => {
  it('fails the frames in flight, instead of leaving them pending, when a worker ends unexpectedly', async () => {
    // Prepare
    const c = new FrameCompressor(3, 1, 1024 * 1024);
    const frame = c.takeFrame();
    frame.fill(7);
    await c.compress(frame, frame.length); // the worker is up and has compressed once
    // Act: the worker is ending when a frame is sent (fault injection through the private pool)
    const ended = (c as unknown as { slots: { worker: Worker }[] }).slots[0]!.worker.terminate();
    const pending = c.compress(frame, frame.length);
    await ended;
    // Assess
    await expect(pending).rejects.toThrow(/worker exited unexpectedly/);
    expect(c.broken).toBe(true);
    await c.close();
  });

  it('a closed compressor does not count as broken', async () => {
    const c = new FrameCompressor(3, 1, 64 * 1024);
    await c.close();
    expect(c.broken).toBe(false);
  });
});
