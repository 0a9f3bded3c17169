/** Keeps messages a worker still holds invisible: extends them every third of the timeout. */
import type { Queue } from './port';

/** Starts extending `held()`'s receipt handles; returns a stop function. Failures go to `onError`. */
export function startVisibilityHeartbeat(queue: Queue, held: () => Iterable<string>, visibilitySeconds: number, onError: (err: Error) => void): () => void {
  // Extend well before the timeout runs out, whatever its length.
  const timer = setInterval(
    () => {
      for (const receipt of held()) queue.extendVisibility(receipt, visibilitySeconds).catch((err: unknown) => onError(err as Error));
    },
    Math.max(50, (visibilitySeconds * 1000) / 3),
  );
  timer.unref();
  return () => clearInterval(timer);
}
