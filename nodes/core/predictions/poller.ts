// Waits on many predictions at once with one timer: a min-heap of due times, so a node
// waiting on thousands of predictions costs one setTimeout, not one per prediction.
import { setMaxListeners } from 'events';
import { abortedError, isTerminal, SentenceError, type CallOptions, type Prediction, type ReplicateClient } from '../http';

export interface PollPlan {
  intervalMs: number;
  maxPolls: number;
  /** While a prediction is still `starting` (a cold boot), each wait grows by `factor` up to `maxIntervalMs`. */
  backoff?: { factor: number; maxIntervalMs: number };
}

export interface WaitOptions extends Pick<CallOptions, 'onRetry'> {
  /** The prediction as already known (from a create): the first poll then comes after one interval. */
  initial?: Prediction;
  onPoll?: (prediction: Prediction, polls: number) => void;
  /** How each poll reads it; a prediction (GET /predictions/{id}) unless said (a training is read from /trainings/{id}). */
  read?: (id: string, options: CallOptions) => Promise<Prediction>;
}

export interface WaitResult {
  prediction: Prediction;
  polls: number;
}

/** The prediction was still running when the poll budget ran out. */
export class PollsExhaustedError extends SentenceError {
  override name = 'PollsExhaustedError';
  constructor(
    /** The last state seen, or the state after the cancel. */
    readonly prediction: Prediction,
    readonly polls: number,
    readonly status: string = prediction.status,
    readonly cancelled = false,
    /** It is a training (read from /trainings/{id}): the sentence says so. */
    readonly training = false,
  ) {
    const key = training
      ? cancelled
        ? 'poll.trainingExhaustedCancelled'
        : 'poll.trainingExhausted'
      : cancelled
        ? 'poll.exhaustedCancelled'
        : 'poll.exhausted';
    super(key, { id: prediction.id, polls, status });
  }
}

interface Waiter {
  id: string;
  plan: PollPlan;
  options: WaitOptions;
  polls: number;
  intervalMs: number;
  due: number;
  seq: number;
  resolve: (result: WaitResult) => void;
  reject: (err: Error) => void;
}

export class PredictionPoller {
  private readonly heap: Waiter[] = [];
  private readonly inFlight = new Set<Waiter>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private seq = 0;

  constructor(private readonly client: ReplicateClient) {
    setMaxListeners(0, this.abort.signal); // every poll in flight listens: thousands is normal, not a leak
  }

  /** Predictions being waited on, scheduled or mid-poll. */
  get size(): number {
    return this.heap.length + this.inFlight.size;
  }

  wait(id: string, plan: PollPlan, options: WaitOptions = {}): Promise<WaitResult> {
    if (this.abort.signal.aborted) return Promise.reject(abortedError());
    if (options.initial && isTerminal(options.initial.status)) {
      return Promise.resolve({ prediction: options.initial, polls: 0 });
    }
    return new Promise((resolve, reject) => {
      const now = Date.now();
      this.push({
        id,
        plan,
        options,
        polls: 0,
        intervalMs: plan.intervalMs,
        due: options.initial ? now + plan.intervalMs : now,
        seq: this.seq++,
        resolve,
        reject,
      });
    });
  }

  /** Stops every wait: pending promises reject, in-flight polls are aborted, no timer is left. */
  close(): void {
    this.abort.abort(abortedError());
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const reason = abortedError();
    for (const waiter of this.heap.splice(0)) waiter.reject(reason);
    for (const waiter of this.inFlight) waiter.reject(reason);
    this.inFlight.clear();
  }

  private push(waiter: Waiter): void {
    this.heap.push(waiter);
    this.siftUp(this.heap.length - 1);
    this.arm();
  }

  private arm(): void {
    const first = this.heap[0];
    if (!first || this.abort.signal.aborted) return;
    if (this.timer && this.timerDue <= first.due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = first.due;
    this.timer = setTimeout(() => this.fire(), Math.max(0, first.due - Date.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    const now = Date.now();
    while (this.heap[0] && this.heap[0].due <= now) {
      const waiter = this.pop()!;
      this.inFlight.add(waiter);
      void this.poll(waiter);
    }
    this.arm();
  }

  private async poll(waiter: Waiter): Promise<void> {
    let prediction: Prediction;
    try {
      const options = { signal: this.abort.signal, onRetry: waiter.options.onRetry };
      const { read } = waiter.options;
      prediction = await (read ? read(waiter.id, options) : this.client.getPrediction(waiter.id, options));
    } catch (err) {
      if (this.inFlight.delete(waiter)) waiter.reject(err as Error);
      return;
    }
    if (!this.inFlight.delete(waiter)) return; // closed meanwhile
    waiter.polls++;
    waiter.options.onPoll?.(prediction, waiter.polls);
    if (isTerminal(prediction.status)) {
      waiter.resolve({ prediction, polls: waiter.polls });
    } else if (waiter.polls >= waiter.plan.maxPolls) {
      waiter.reject(new PollsExhaustedError(prediction, waiter.polls));
    } else {
      const { backoff } = waiter.plan;
      if (backoff && prediction.status === 'starting') {
        waiter.intervalMs = Math.min(backoff.maxIntervalMs, waiter.intervalMs * backoff.factor);
      } else {
        waiter.intervalMs = waiter.plan.intervalMs;
      }
      waiter.due = Date.now() + waiter.intervalMs;
      this.push(waiter);
    }
  }

  private before(a: Waiter, b: Waiter): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  private pop(): Waiter | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && this.before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && this.before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === index) break;
        [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
        index = smallest;
      }
    }
    return top;
  }
}
