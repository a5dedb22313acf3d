// How far a running prediction is, as its logs say: models report progress with tqdm bars
// (` 45%|████▌     | 9/20 [00:02<00:03, 3.61it/s]`), rewritten in place with carriage returns, so
// the last percentage in the logs is the current one.

/** The last percentage (0-100, whole) in the logs, or undefined when they carry none. */
export function logProgress(logs: string | null | undefined): number | undefined {
  if (typeof logs !== 'string') return undefined;
  // From the end: logs grow with every poll, and only their last percentage matters.
  for (let sign = logs.lastIndexOf('%'); sign > 0; sign = logs.lastIndexOf('%', sign - 1)) {
    let start = sign;
    while (start > 0 && /[\d.]/.test(logs[start - 1]!)) start--;
    const number = logs.slice(start, sign);
    if (!/^\d{1,3}(?:\.\d+)?$/.test(number) || (start > 0 && /\w/.test(logs[start - 1]!))) continue;
    const percent = Number(number);
    if (percent <= 100) return Math.floor(percent);
  }
  return undefined;
}
