/** Resolves after `ms`, or rejects with a signal's reason as soon as one aborts; leaves no timer behind. */
export function sleep(ms: number, ...signals: Array<AbortSignal | undefined>): Promise<void> {
  const watched = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  const aborted = watched.find((signal) => signal.aborted);
  if (aborted) return Promise.reject(aborted.reason as Error);
  return new Promise((resolve, reject) => {
    const stop = (err?: Error) => {
      clearTimeout(timer);
      for (const signal of watched) signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = (event: Event) => stop((event.target as AbortSignal).reason as Error);
    const timer = setTimeout(() => stop(), ms);
    for (const signal of watched) signal.addEventListener('abort', onAbort, { once: true });
  });
}
