// Many callers share one AbortSignal (a node's, a poller's), so each signal gets one abort
// listener however many of its callers wait: thousands of listeners on one signal make every
// add and remove slow (an EventTarget walks its whole list each time).
export class AbortListeners {
  private readonly bySignal = new Map<AbortSignal, { callbacks: Set<() => void>; onAbort: () => void }>();

  /** Calls `callback` once when `signal` aborts; the function returned stops that. */
  add(signal: AbortSignal, callback: () => void): () => void {
    let entry = this.bySignal.get(signal);
    if (!entry) {
      const callbacks = new Set<() => void>();
      const onAbort = () => {
        this.bySignal.delete(signal);
        for (const call of callbacks) call();
      };
      entry = { callbacks, onAbort };
      this.bySignal.set(signal, entry);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    const { callbacks, onAbort } = entry;
    callbacks.add(callback);
    return () => {
      if (!callbacks.delete(callback) || callbacks.size > 0) return;
      signal.removeEventListener('abort', onAbort);
      if (this.bySignal.get(signal) === entry) this.bySignal.delete(signal);
    };
  }
}
