// Many callers share one AbortSignal (a node's, a poller's), so each signal gets one abort
// listener however many of its callers wait: thousands of listeners on one signal make every
// add and remove slow (an EventTarget walks its whole list each time).
export interface AbortWatcher {
  /** Called once, when the signal aborts while the watcher is added. */
  onAbort(reason: Error): void;
}

export class AbortListeners {
  private readonly bySignal = new Map<AbortSignal, { watchers: Set<AbortWatcher>; listener: () => void }>();

  add(signal: AbortSignal, watcher: AbortWatcher): void {
    let entry = this.bySignal.get(signal);
    if (!entry) {
      const watchers = new Set<AbortWatcher>();
      const listener = () => {
        this.bySignal.delete(signal);
        for (const w of watchers) w.onAbort(signal.reason as Error);
      };
      entry = { watchers, listener };
      this.bySignal.set(signal, entry);
      signal.addEventListener('abort', listener, { once: true });
    }
    entry.watchers.add(watcher);
  }

  remove(signal: AbortSignal, watcher: AbortWatcher): void {
    const entry = this.bySignal.get(signal);
    if (!entry?.watchers.delete(watcher) || entry.watchers.size > 0) return;
    signal.removeEventListener('abort', entry.listener);
    this.bySignal.delete(signal);
  }
}
