// "Combine chunks for": chunks arriving within the window go out as one, for dashboards that
// cannot redraw per token. A window of 0 passes every chunk on as it comes. What is held never
// passes MAX_HELD_CHARS: past it, it goes out at once, whatever the window.
export const MAX_HELD_CHARS = 64 * 1024;

export class ChunkCombiner {
  private pending: string[] = [];
  private held = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly windowMs: number,
    private readonly emit: (text: string) => void,
  ) {}

  push(text: string): void {
    if (this.windowMs <= 0) return this.emit(text);
    this.pending.push(text);
    this.held += text.length;
    if (this.held > MAX_HELD_CHARS) return this.flush();
    this.timer ??= setTimeout(() => this.flush(), this.windowMs);
  }

  /** Sends what is held now (the stream ended, or the window is full). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const text = this.pending.join('');
    this.pending = [];
    this.held = 0;
    if (text !== '') this.emit(text);
  }

  /** Drops what is held and the timer (the node closed). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.held = 0;
  }
}
