// Replicate pages with a `next` URL carrying a `cursor` parameter. Only the cursor is kept:
// following the URL itself would send the token wherever a response pointed.

export function cursorFromNext(next: string | null | undefined): string | null {
  if (!next) return null;
  try {
    return new URL(next, 'https://api.replicate.com').searchParams.get('cursor');
  } catch {
    return null;
  }
}

export interface Page<T> {
  results: T[];
  next?: string | null;
}

export interface CollectedPages<T> {
  results: T[];
  pages: number;
  /** Cursor of the first page not fetched because `maxPages` was reached; null when complete. */
  next: string | null;
}

/** Follows cursors from `cursor` until the last page or `maxPages` pages. */
export async function collectPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  maxPages: number,
  cursor?: string,
  onPage?: (pages: number, results: number) => void,
): Promise<CollectedPages<T>> {
  const results: T[] = [];
  let pages = 0;
  let next: string | null = cursor ?? null;
  do {
    const page = await fetchPage(next ?? undefined);
    pages++;
    for (const item of page.results) results.push(item);
    next = cursorFromNext(page.next);
    onPage?.(pages, results.length);
  } while (next !== null && pages < maxPages);
  return { results, pages, next };
}
