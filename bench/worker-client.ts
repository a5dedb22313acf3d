// The benchmark process's handle on bench/worker.ts: typed calls over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { WorkerCommand, WorkerHandlers } from './worker';

type Args<C extends WorkerCommand> = Parameters<WorkerHandlers[C]> extends [] ? undefined : Parameters<WorkerHandlers[C]>[0];
type Answer<C extends WorkerCommand> = Awaited<ReturnType<WorkerHandlers[C]>>;

interface Reply {
  id?: number;
  ok?: boolean;
  result?: unknown;
  error?: string;
  ready?: boolean;
}

export class Worker {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (reply: Reply) => {
      if (reply.id === undefined) return;
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new Error(`worker: ${reply.error}`));
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const waiter of this.pending.values()) waiter.reject(new Error(`The bench worker exited (code ${code}, signal ${signal})`));
      this.pending.clear();
    });
  }

  static start(): Promise<Worker> {
    const child = fork(path.join(__dirname, 'worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const worker = new Worker(child);
    return new Promise((resolve, reject) => {
      const onReady = (reply: Reply) => {
        if (!reply.ready) return;
        child.off('message', onReady);
        child.off('exit', onExit);
        resolve(worker);
      };
      const onExit = (code: number | null) => reject(new Error(`The bench worker exited before it was ready (code ${code})`));
      child.on('message', onReady);
      child.once('exit', onExit);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  call<C extends WorkerCommand>(cmd: C, ...args: Args<C> extends undefined ? [] : [Args<C>]): Promise<Answer<C>> {
    if (this.exited) return Promise.reject(new Error('The bench worker has exited'));
    const id = this.nextId++;
    return new Promise<Answer<C>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, cmd, args: args[0] });
    });
  }

  /** Asks the worker to close its emulator and exit; kills it if it does not within 5 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.call('stopEmulator').catch(() => undefined);
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
