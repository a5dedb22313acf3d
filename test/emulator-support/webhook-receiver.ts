// A local endpoint that records the webhooks the emulator sends and answers as told.
import http from 'node:http';

export interface ReceivedWebhook {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** The status to answer a webhook with; 200 unless changed. */
  answer: (webhook: ReceivedWebhook) => number = () => 200;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const webhook = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      this.received.push(webhook);
      res.writeHead(this.answer(webhook)).end();
    });
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** A webhook URL on this receiver; the path tells predictions apart. */
  url(path: string): string {
    const address = this.server.address();
    if (typeof address !== 'object' || !address) throw new Error('The receiver is not listening');
    return `http://127.0.0.1:${address.port}${path}`;
  }

  at(path: string): ReceivedWebhook[] {
    return this.received.filter((w) => w.path === path);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
