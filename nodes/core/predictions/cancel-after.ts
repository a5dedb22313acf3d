// Replicate's Cancel-After header: "30s", "5m", "1h30m45s", or bare seconds; at least 5 s.
import { InputError } from '../http/errors';
import type { Field } from '../http/identifiers';

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$/;

export function checkCancelAfter(value: unknown, field: Field = { key: 'field.cancelAfter' }): string {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const match = DURATION.exec(text);
  if (text === '' || !match) {
    throw new InputError('check.duration', { field, value: String(value) });
  }
  const seconds = Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
  if (seconds < 5) throw new InputError('check.durationTooShort', { field, value: text });
  return text;
}
