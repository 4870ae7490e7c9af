// Runs a task every interval, never two at once: the next run starts `intervalMs` after the
// previous one started (or at once, if it took longer). Errors are the task's to handle.
export interface Periodic {
  /** Stops scheduling and waits for a run in progress. */
  stop(): Promise<void>;
}

export function every(
  intervalMs: number,
  task: () => Promise<void>,
  now: () => number = Date.now,
): Periodic {
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const tick = () => {
    if (!running) return;
    const started = now();
    current = task();
    void current.then(() => {
      if (running) timer = setTimeout(tick, Math.max(0, intervalMs - (now() - started)));
    });
  };
  tick();
  return {
    stop: async () => {
      running = false;
      clearTimeout(timer);
      await current;
    },
  };
}
