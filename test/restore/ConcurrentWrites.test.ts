import { ConcurrentWrites } from '../../shared/restore/ConcurrentWrites';

/** A task that runs until released, recording how many ran at once. */
function gate(track: { now: number; max: number }): { task: () => Promise<void>; release: () => void } {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    task: async () => {
      track.max = Math.max(track.max, ++track.now);
      await done;
      track.now--;
    },
    release: () => release(),
  };
}

describe('Class: ConcurrentWrites', () => {
  it('runs at most maxFiles at once, and add() waits for room', async () => {
    const track = { now: 0, max: 0 };
    const w = new ConcurrentWrites(2, 1e9);
    const [g0, g1] = [gate(track), gate(track)];
    await w.add(1, g0.task); // room left: returns at once
    let secondReturned = false;
    const second = w.add(1, g1.task).then(() => (secondReturned = true)); // two in flight: waits
    await new Promise((r) => setImmediate(r));
    expect(track.now).toBe(2);
    expect(secondReturned).toBe(false);
    g0.release();
    await second;
    g1.release();
    await w.settle();
    expect(track.max).toBe(2);
  });

  it('waits while the bytes held exceed maxBytes, and a failing task stops nothing', async () => {
    const track = { now: 0, max: 0 };
    const w = new ConcurrentWrites(10, 10);
    const [g0, g1] = [gate(track), gate(track)];
    await w.add(6, g0.task);
    let secondReturned = false;
    const second = w.add(6, g1.task).then(() => (secondReturned = true)); // 12 bytes held > 10: waits
    await new Promise((r) => setImmediate(r));
    expect(secondReturned).toBe(false);
    g0.release();
    await second;
    await w.add(1, () => Promise.reject(new Error('boom')));
    g1.release();
    await expect(w.settle()).resolves.toBeUndefined();
  });
});
