// Where the signing secret comes from: typed into the config node, or fetched once with the token
// (GET /webhooks/default/secret) and cached. When a signature does not match, the secret may have
// been rotated, so it is fetched again, but at most once per interval: forged deliveries must
// not turn into a stream of API calls.
export class WebhookSecretSource {
  private fetched: Promise<string> | undefined;
  private lastRefresh = -Infinity;
  private refreshing: Promise<string> | undefined;

  constructor(
    private readonly fetchSecret: () => Promise<string>,
    private readonly configured?: string,
    private readonly minRefreshIntervalMs = 10_000,
  ) {}

  /** Can a mismatch be a rotation we have not seen yet? Not when the user typed the secret. */
  get refreshable(): boolean {
    return !this.configured;
  }

  current(): Promise<string> {
    if (this.configured) return Promise.resolve(this.configured);
    this.fetched ??= this.fetchSecret().catch((err: unknown) => {
      this.fetched = undefined; // try again on the next delivery
      throw err;
    });
    return this.fetched;
  }

  /**
   * The secret fetched anew, or undefined when it was fetched again too recently to ask once
   * more. Deliveries failing at the same moment share one fetch.
   */
  refresh(now = Date.now()): Promise<string | undefined> {
    if (this.refreshing) return this.refreshing;
    if (!this.refreshable || now - this.lastRefresh < this.minRefreshIntervalMs) return Promise.resolve(undefined);
    this.lastRefresh = now;
    this.fetched = undefined;
    this.refreshing = this.current().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }
}
