// What the fault and fuzz suites watch: every input message ends exactly once (a message out or
// a Catch-able error), no promise rejection goes unhandled, and no timer or socket outlives the
// flows that made it.
import should from 'should';
import type { Node } from 'node-red';
import type { CaughtMsg, Msg, PredictionMsg } from './harness';

/** The suites number each message they send in msg.seq (absent only from an orphan's). */
interface Numbered {
  seq: number;
}

/** Out: what the node under test sends on its outputs. */
export type Outcome<Out extends Msg = PredictionMsg> =
  { kind: 'output'; port: number; msg: Out & Numbered } | { kind: 'error'; msg: CaughtMsg & Numbered };

/**
 * Tallies what happens to each input message, keyed by msg.seq: messages on any output port
 * of the node under test, and errors its Catch node receives.
 */
export class Ledger<Out extends Msg = PredictionMsg> {
  readonly outcomes = new Map<number, Array<Outcome<Out>>>();
  /** Outcomes of messages without a seq: a Catch node got an error that lost the message. */
  readonly orphans: Array<Outcome<Out>> = [];
  private waiters: Array<() => void> = [];

  /** `caught`: the Catch node's helper, when the flow has one. */
  constructor(flow: { outputs: Node[]; caught?: Node }) {
    flow.outputs.forEach((node, port) =>
      node.on('input', (msg) => this.record({ kind: 'output', port, msg: msg as unknown as Out & Numbered })),
    );
    flow.caught?.on('input', (msg) => this.record({ kind: 'error', msg: msg as unknown as CaughtMsg & Numbered }));
  }

  private record(outcome: Outcome<Out>): void {
    const seq = outcome.msg.seq;
    if (typeof seq !== 'number') this.orphans.push(outcome);
    else this.outcomes.set(seq, [...(this.outcomes.get(seq) ?? []), outcome]);
    for (const wake of this.waiters.splice(0)) wake();
  }

  get outputs(): Array<Extract<Outcome<Out>, { kind: 'output' }>> {
    return [...this.outcomes.values()].flat().filter((o) => o.kind === 'output');
  }

  get errors(): Array<Extract<Outcome<Out>, { kind: 'error' }>> {
    return [...this.outcomes.values()].flat().filter((o) => o.kind === 'error');
  }

  /** The one outcome of message `seq` (throws if it has none or several). */
  only(seq: number): Outcome<Out> {
    const got = this.outcomes.get(seq) ?? [];
    if (got.length !== 1) throw new Error(`message ${seq} ended ${got.length} times: ${describe(got)}`);
    return got[0]!;
  }

  /**
   * Resolves once messages 0..count-1 have all ended, then waits `graceMs` more so a late
   * duplicate would be seen; rejects naming the messages still open after `timeoutMs`.
   */
  async settled(count: number, timeoutMs = 15_000, graceMs = 200): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.open(count).length > 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no outcome after ${timeoutMs} ms for message(s) ${this.open(count).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await new Promise((resolve) => setTimeout(resolve, graceMs));
  }

  private open(count: number): number[] {
    return Array.from({ length: count }, (_, seq) => seq).filter((seq) => !this.outcomes.has(seq));
  }

  /** Nothing lost, nothing twice: each of `count` messages ended once, and no prediction id went out twice. */
  assertEachOnce(count: number): void {
    should(this.orphans.map((o) => (o.kind === 'error' ? o.msg.error.message : o.msg))).eql([]);
    const wrong = [...this.outcomes.entries()].filter(([seq, got]) => got.length !== 1 || seq >= count);
    should(wrong.map(([seq, got]) => `message ${seq} ended ${got.length} times: ${describe(got)}`)).eql([]);
    should(this.outcomes.size).equal(count);
    const ids = this.outputs.map((o) => o.msg.predictionId).filter((id) => id !== undefined);
    should(ids.length).equal(new Set(ids).size);
  }
}

function describe(outcomes: Array<Outcome<Msg>>): string {
  const id = (msg: Msg) => (typeof msg.predictionId === 'string' ? msg.predictionId : '');
  return outcomes.map((o) => (o.kind === 'error' ? `error "${o.msg.error?.message}"` : `output ${o.port} ${id(o.msg)}`)).join('; ');
}

/** Collects unhandled rejections from before() to after(); each test asserts it saw none. */
export function watchUnhandledRejections(): { readonly seen: unknown[]; assertNone(): void } {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  before(() => {
    process.on('unhandledRejection', listener);
  });
  after(() => {
    process.off('unhandledRejection', listener);
  });
  return {
    seen,
    assertNone() {
      const reasons = seen.splice(0).map((r) => (r instanceof Error ? `${r.name}: ${r.message}` : String(r)));
      should(reasons).eql([]);
    },
  };
}

export type ResourceCounts = Record<string, number>;

/** process.getActiveResourcesInfo() counted by kind: 'Timeout', 'TCPSocketWrap', 'TCPServerWrap'... */
export function activeResources(): ResourceCounts {
  const counts: ResourceCounts = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** Lets closed handles go: libuv releases them after a check phase, a socket's peer after its FIN. */
export async function handlesSettled(ms = 100): Promise<void> {
  for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, ms));
  for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Asserts timers and sockets are back to `baseline` within `timeoutMs`: long enough for closed
 * sockets to be released (and their peers to see the FIN), shorter than any poll interval or
 * retry delay, so a timer left armed is still there to be counted.
 */
export async function assertBackTo(
  baseline: ResourceCounts,
  kinds = ['Timeout', 'TCPSocketWrap'],
  timeoutMs = 60,
): Promise<ResourceCounts> {
  const deadline = Date.now() + timeoutMs;
  let now = activeResources();
  const over = () => kinds.filter((kind) => (now[kind] ?? 0) > (baseline[kind] ?? 0));
  while (over().length > 0 && Date.now() < deadline) {
    await handlesSettled(5);
    now = activeResources();
  }
  should(Object.fromEntries(kinds.map((k) => [k, now[k] ?? 0]))).eql(
    Object.fromEntries(kinds.map((k) => [k, Math.min(now[k] ?? 0, baseline[k] ?? 0)])),
  );
  return now;
}
