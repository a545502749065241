import { KilnError } from '../core/index.js';

/** Parses a flag value as an integer, with a KilnError naming the flag. */
export function intFlag(value: string, flag: string, min = Number.MIN_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^[-+]?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new KilnError(`${flag} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` >= ${min}` : ''}, got '${value}'`);
  }
  return n;
}

/** Parses a flag value as a finite number, with a KilnError naming the flag. */
export function numberFlag(value: string, flag: string, min = -Infinity): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min) {
    throw new KilnError(`${flag} must be a number${min > -Infinity ? ` >= ${min}` : ''}, got '${value}'`);
  }
  return n;
}
