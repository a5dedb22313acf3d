// The text as a Node-RED message sequence: msg.parts as the split node writes it for strings, so a
// join node in automatic mode puts the text back together, with a closing part that carries the
// count and msg.complete; a files stream's files the same way, as the split node writes an array.

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

export interface FileParts {
  id: string;
  /** Not on the closing part: a join node would put an empty element there. */
  index?: number;
  type: 'array';
  count?: number;
  parts?: unknown;
}

/** One output file of a files stream, or (no url) the closing part with the count. */
export interface FilePart {
  url?: string;
  parts: FileParts;
  complete?: true;
}

/** A files stream as a message sequence: one part per file, as a split node writes an array's, then a closing part. */
export class FilesSequence {
  private index = 0;
  private closed = false;

  constructor(
    private readonly id: string,
    private readonly outer?: unknown,
  ) {}

  /** Files sent so far. */
  get count(): number {
    return this.index;
  }

  next(url: string): FilePart {
    return { url, parts: this.parts({ index: this.index++ }) };
  }

  /** The closing part (no file, the count, complete); undefined when already sent. */
  close(): FilePart | undefined {
    if (this.closed) return undefined;
    this.closed = true;
    return { parts: this.parts({ count: this.index }), complete: true };
  }

  private parts(place: { index: number } | { count: number }): FileParts {
    const parts: FileParts = { id: this.id, type: 'array', ...place };
    if (this.outer !== undefined) parts.parts = this.outer;
    return parts;
  }
}
