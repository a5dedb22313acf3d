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

/**
 * What the text and the files sequences share: the prediction's id, the incoming message's own parts carried along
 * (when it was itself part of a sequence), and a closing part sent once.
 */
abstract class Sequence<P extends { parts?: unknown }> {
  /** The next part's index. */
  protected index = 0;
  private closed = false;

  constructor(
    protected readonly id: string,
    private readonly outer?: unknown,
  ) {}

  /** True the first time only: the closing part is sent once. */
  protected closing(): boolean {
    if (this.closed) return false;
    this.closed = true;
    return true;
  }

  protected withOuter(parts: P): P {
    if (this.outer !== undefined) parts.parts = this.outer;
    return parts;
  }
}

export class PartsSequence extends Sequence<TextParts> {
  /** Parts sent so far, the closing one included. */
  get count(): number {
    return this.index;
  }

  next(text: string): TextPart {
    return { payload: text, parts: this.parts(this.index++) };
  }

  /** The closing part (empty payload, the count, complete); undefined when already sent. */
  close(): TextPart | undefined {
    if (!this.closing()) return undefined;
    const parts = this.parts(this.index++);
    parts.count = this.index;
    return { payload: '', parts, complete: true };
  }

  private parts(index: number): TextParts {
    return this.withOuter({ id: this.id, index, type: 'string', ch: '' });
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
export class FilesSequence extends Sequence<FileParts> {
  /** Files sent so far. */
  get count(): number {
    return this.index;
  }

  next(url: string): FilePart {
    return { url, parts: this.parts({ index: this.index++ }) };
  }

  /** The closing part (no file, the count, complete); undefined when already sent. */
  close(): FilePart | undefined {
    if (!this.closing()) return undefined;
    return { parts: this.parts({ count: this.index }), complete: true };
  }

  private parts(place: { index: number } | { count: number }): FileParts {
    return this.withOuter({ id: this.id, type: 'array', ...place });
  }
}
