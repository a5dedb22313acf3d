// Measurement lines: `NAME VALUE (target T) ok|miss`, one per result, and the record of a run
// that bench/results/latest.json keeps for the README.

export type Comparison = '<' | '<=' | '>' | '>=' | '==';

export interface Target {
  op: Comparison;
  value: number;
}

export interface Result {
  name: string;
  /** null when the benchmark could not measure it (it crashed). */
  value: number | null;
  target: Target;
  ok: boolean;
  /** What the number is, for the README table. */
  unit: string;
  note?: string;
}

export function meets(value: number, target: Target): boolean {
  switch (target.op) {
    case '<':
      return value < target.value;
    case '<=':
      return value <= target.value;
    case '>':
      return value > target.value;
    case '>=':
      return value >= target.value;
    case '==':
      return value === target.value;
  }
}

/** Enough digits to read, never exponent notation. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 1 : abs >= 1 ? 2 : 3;
  return value.toFixed(digits).replace(/\.?0+$/, '');
}

export function formatLine(result: Result): string {
  const value = result.value === null ? 'n/a' : formatNumber(result.value);
  return `${result.name} ${value} (target ${result.target.op} ${formatNumber(result.target.value)}) ${result.ok ? 'ok' : 'miss'}`;
}

export class Reporter {
  readonly results: Result[] = [];
  readonly info: Record<string, unknown> = {};

  constructor(private readonly print: (line: string) => void = (line) => console.log(line)) {}

  /** Records and prints one measurement line. */
  result(name: string, value: number, target: Target, unit: string, note?: string): Result {
    const ok = Number.isFinite(value) && meets(value, target);
    const result: Result = { name, value: Number.isFinite(value) ? value : null, target, ok, unit, ...(note ? { note } : {}) };
    this.results.push(result);
    this.print(formatLine(result));
    return result;
  }

  /** Records and prints a planned line's measurement. */
  measured(line: { name: string; target: Target; unit: string }, value: number, note?: string): Result {
    return this.result(line.name, value, line.target, line.unit, note);
  }

  /** A line that could not be measured: printed as a miss with n/a. */
  unmeasured(name: string, target: Target, unit: string, note: string): void {
    const result: Result = { name, value: null, target, ok: false, unit, note };
    this.results.push(result);
    this.print(formatLine(result));
  }

  /** Informational output: indented, so it never reads as a measurement line. */
  note(text: string): void {
    this.print(`  # ${text}`);
  }

  detail(bench: string, data: Record<string, unknown>): void {
    this.info[bench] = { ...(this.info[bench] ?? {}), ...data };
  }
}
