// The text as a Node-RED message sequence: msg.parts as the split node writes it for strings, so a
// join node in automatic mode puts the text back together, with a closing part that carries the
// count and msg.complete.

export interface TextParts {
  id: string;
  index: number;
  type: 'string';
  ch: '';
  count?: number;
  /** The incoming message's own parts, when it was itself part of a sequence. */
  parts?: unknown;
}

export interface TextPart {
  payload: string;
  parts: TextParts;
  /** On the closing part only. */
  complete?: true;
}

export class PartsSequence {
  private index = 0;
  private closed = false;

  constructor(
    private readonly id: string,
    private readonly outer?: unknown,
  ) {}

  /** Parts sent so far, the closing one included. */
  get count(): number {
    return this.index;
  }

  next(text: string): TextPart {
    return { payload: text, parts: this.parts(this.index++) };
  }

  /** The closing part (empty payload, the count, complete); undefined when already sent. */
  close(): TextPart | undefined {
    if (this.closed) return undefined;
    this.closed = true;
    const parts = this.parts(this.index++);
    parts.count = this.index;
    return { payload: '', parts, complete: true };
  }

  private parts(index: number): TextParts {
    const parts: TextParts = { id: this.id, index, type: 'string', ch: '' };
    if (this.outer !== undefined) parts.parts = this.outer;
    return parts;
  }
}
