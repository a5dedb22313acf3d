// "Combine chunks for": chunks arriving within the window go out as one, for dashboards that
// cannot redraw per token. A window of 0 passes every chunk on as it comes.
export class ChunkCombiner {
  private pending = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly windowMs: number,
    private readonly emit: (text: string) => void,
  ) {}

  push(text: string): void {
    if (this.windowMs <= 0) return this.emit(text);
    this.pending += text;
    this.timer ??= setTimeout(() => this.flush(), this.windowMs);
  }

  /** Sends what is held now (the stream ended). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.emit(text);
  }

  /** Drops what is held and the timer (the node closed). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = '';
  }
}
