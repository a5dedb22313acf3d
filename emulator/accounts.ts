// The accounts the emulator knows, found by API token. Predictions belong to a username, so
// several tokens of one username share them, as several API tokens of one Replicate account do.
import { generateWebhookSecret } from './webhook-signing';
import type { EmulatorAccount } from './types';

export const DEFAULT_TOKEN = 'r8_emulator_local_token';

export type Account = Required<EmulatorAccount>;

const DEFAULT_ACCOUNTS: EmulatorAccount[] = [{ token: DEFAULT_TOKEN, username: 'emulator', name: 'Replicate Emulator', type: 'user' }];

export class Accounts {
  readonly list: readonly Account[];
  private readonly byToken = new Map<string, Account>();

  constructor(accounts: EmulatorAccount[] = DEFAULT_ACCOUNTS) {
    if (accounts.length === 0) throw new Error('The emulator needs at least one account');
    this.list = accounts.map((account) => ({
      token: account.token,
      username: account.username,
      name: account.name ?? account.username,
      type: account.type ?? 'user',
      webhookSecret: account.webhookSecret ?? generateWebhookSecret(),
      billing: account.billing ?? true,
      lowCredit: account.lowCredit ?? false,
    }));
    for (const account of this.list) {
      if (this.byToken.has(account.token)) throw new Error(`Two accounts have the token ${account.token}`);
      if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(account.webhookSecret))
        throw new Error(`The webhook secret of ${account.username} must be "whsec_" followed by base64`);
      this.byToken.set(account.token, account);
    }
  }

  /** The account an Authorization header authenticates, if any. */
  authenticate(authorization: string | undefined): Account | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    return match?.[1] === undefined ? undefined : this.byToken.get(match[1]);
  }

  get(token?: string): Account {
    const account = token === undefined ? this.list[0] : this.byToken.get(token);
    if (!account) throw new Error(`No emulator account has the token ${token ?? '(none)'}`);
    return account;
  }

  /** Gives the account a new signing secret, as rotating it on replicate.com does. */
  rotateWebhookSecret(token?: string): string {
    const account = this.get(token);
    account.webhookSecret = generateWebhookSecret();
    return account.webhookSecret;
  }

  /** The webhook secret of a username (its first account). */
  webhookSecretOf(username: string): string {
    const account = this.list.find((a) => a.username === username) ?? this.get();
    return account.webhookSecret;
  }
}

/** The account as GET /account (and a deployment's created_by) describes it. */
export function accountView(account: Account): Record<string, string> {
  return {
    type: account.type,
    username: account.username,
    name: account.name,
    github_url: `https://github.com/${account.username}`,
    avatar_url: `https://replicate.delivery/avatars/${account.username}.png`,
  };
}
