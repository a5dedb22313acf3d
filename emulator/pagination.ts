// Cursor pagination as Replicate does it: `next` and `previous` are absolute URLs carrying an
// opaque `cursor` query parameter (here base64url JSON of the position).
import { badRequest, type ApiResponse } from './responses';

export type Position = Record<string, number>;

function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** The position a request's cursor names ({} without one), or the 400 for a cursor we never issued. */
export function readCursor(query: URLSearchParams): { position: Position } | { response: ApiResponse } {
  const cursor = query.get('cursor');
  if (cursor === null) return { position: {} };
  try {
    const position: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof position === 'object' && position !== null && Object.values(position).every((v) => Number.isInteger(v) && v >= 0))
      return { position: position as Position };
  } catch {
    // answered below
  }
  return { response: badRequest('Invalid cursor', 'The cursor is not one this API returned.') };
}

/** The same URL (path and other parameters kept) at another position; null when there is none. */
export function pageLink(pageUrl: URL, position: Position | undefined): string | null {
  if (position === undefined) return null;
  const link = new URL(pageUrl);
  link.searchParams.set('cursor', encodeCursor(position));
  return link.toString();
}

/** A page body whose results are already serialized. */
export function pageBody(next: string | null, previous: string | null, results: string[]): string {
  return `{"next":${JSON.stringify(next)},"previous":${JSON.stringify(previous)},"results":[${results.join(',')}]}`;
}

/** The slice of a fixed list at the cursor's offset, with links to its neighbours. */
export function offsetPage<T>(
  items: readonly T[],
  position: Position,
  pageSize: number,
  pageUrl: URL,
): { results: T[]; next: string | null; previous: string | null } {
  const offset = Math.min(position.offset ?? 0, items.length);
  const end = offset + pageSize;
  return {
    results: items.slice(offset, end),
    next: pageLink(pageUrl, end < items.length ? { offset: end } : undefined),
    previous: pageLink(pageUrl, offset > 0 ? { offset: Math.max(0, offset - pageSize) } : undefined),
  };
}
