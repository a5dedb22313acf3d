// The model catalog and its search, page by page. Replicate pages with a `next` URL carrying a
// `cursor` parameter (cursorFromNext).
import { cursorFromNext, type CallOptions, type Model, type ReplicateClient } from '../http';

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

export interface ModelsRequest {
  query?: string;
  cursor?: string;
  allPages: boolean;
  maxPages: number;
  sortBy?: 'model_created_at' | 'latest_version_created_at';
  sortDirection?: 'asc' | 'desc';
}

export interface ModelsResult {
  models: Model[];
  /** Cursor of the next page, null after the last one. */
  next: string | null;
  pages: number;
}

/** One page of the catalog (or of a search), or every page up to `maxPages`. */
export async function fetchModels(
  client: ReplicateClient,
  request: ModelsRequest,
  progress: CallOptions & { onPage?: (pages: number, models: number) => void } = {},
): Promise<ModelsResult> {
  const fetchPage = (cursor: string | undefined) =>
    request.query
      ? client.searchModels(request.query, { cursor }, progress)
      : client.listModels({ cursor, sortBy: request.sortBy, sortDirection: request.sortDirection }, progress);
  if (!request.allPages) {
    const page = await fetchPage(request.cursor);
    return { models: page.results, next: cursorFromNext(page.next), pages: 1 };
  }
  const all = await collectPages(fetchPage, request.maxPages, request.cursor, progress.onPage);
  return { models: all.results, next: all.next, pages: all.pages };
}
