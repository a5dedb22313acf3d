// The most recent API requests, for tests to inspect (a bounded buffer: benchmarks send many).
import type { RecordedRequest } from './types';

export class RequestLog {
  private entries: RecordedRequest[] = [];

  constructor(private readonly capacity: number) {}

  record(request: RecordedRequest): void {
    if (this.capacity <= 0) return;
    this.entries.push(request);
    // Trim in batches so recording stays O(1) on average.
    if (this.entries.length >= this.capacity * 1.25 + 1) this.entries.splice(0, this.entries.length - this.capacity);
  }

  /** Oldest first, at most `capacity`. */
  list(): RecordedRequest[] {
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
    return this.entries;
  }

  clear(): void {
    this.entries = [];
  }

  /** The last `limit` requests with credentials masked, for the HTTP control API. */
  recentMasked(limit: number): RecordedRequest[] {
    const recent = limit > 0 ? this.list().slice(-limit) : [];
    return recent.map((request) => ({
      ...request,
      headers: request.headers.authorization === undefined ? request.headers : { ...request.headers, authorization: 'Bearer ***' },
    }));
  }
}
