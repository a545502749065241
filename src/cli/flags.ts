import { isIP } from 'node:net';
import { Option } from 'commander';
import { KilnError, checkOutputDir, describeOptions, parseOptions, type OptionSpec, type OptionValue } from '../core/index.js';
import { BACKENDS } from '../backend/index.js';

export interface NumberBounds {
  int?: boolean;
  min?: number;
  max?: number;
}

/** Plain decimal notation only: Number() also takes hex, binary, octal, '' and surrounding spaces. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Parses a flag value as a finite number within bounds, with a KilnError naming the flag. */
export function num(value: string, flag: string, o: NumberBounds = {}): number {
  const n = Number(value);
  const ok = DECIMAL.test(value) && Number.isFinite(n) && (!o.int || Number.isInteger(n)) &&
    (o.min === undefined || n >= o.min) && (o.max === undefined || n <= o.max);
  if (!ok) {
    const range = [o.min !== undefined ? `>= ${o.min}` : '', o.max !== undefined ? `<= ${o.max}` : ''].filter(Boolean).join(' and ');
    throw new KilnError(`${flag} must be ${o.int ? 'an integer' : 'a number'}${range ? ' ' + range : ''}, got '${value}'`);
  }
  return n;
}

/** Parses a flag value as an integer >= min. */
export function intFlag(value: string, flag: string, min?: number): number {
  return num(value, flag, { int: true, min });
}

/** Parses a flag value as a number >= min. */
export function numberFlag(value: string, flag: string, min?: number): number {
  return num(value, flag, { min });
}

/** Commander argument parser for an integer flag >= min. */
export const intParser = (flag: string, min = 1) => (value: string): number => intFlag(value, flag, min);

/** Commander argument parser for a TCP port (0 lets the system choose). */
export const portParser = (flag = '--port') => (value: string): number => num(value, flag, { int: true, min: 0, max: 65535 });

/** Commander argument parser for an address to bind: an IPv4/IPv6 address or localhost. */
export const hostParser = (flag = '--host') => (value: string): string => {
  if (isIP(value) === 0 && value !== 'localhost') throw new KilnError(`${flag} must be an IP address such as 127.0.0.1 or localhost (got '${value}')`);
  return value;
};

/** Commander argument parser for a number flag > 0. */
export const positiveParser = (flag: string) => (value: string): number => {
  const n = num(value, flag);
  if (n <= 0) throw new KilnError(`${flag} must be a positive number (got '${value}')`);
  return n;
};

/** `--artifacts` of the commands that evaluate trials and of the dashboard that links to their files. */
export const ARTIFACTS_HELP = 'folder where trials keep their files (DIR/STUDY/trial-N: a trained trial\'s model, loss curve and trial.json); ' +
  'workers on many machines give a folder they share; kiln dashboard --artifacts links to them';

/** Commander argument parser for a folder Kiln writes into (made when missing; refused when a file is in the way). */
export const outputDirParser = (flag: string) => (value: string): string => {
  checkOutputDir(value, flag);
  return value;
};

/** Splits a comma-separated flag value, dropping empty entries. */
export function listFlag(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Repeated `key=value` flags as raw texts by key. */
export function keyValueTexts(pairs: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new KilnError(`${flag} takes key=value (got '${pair}')`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** Repeated `key=value` flags as an options object; `true`/`false` and numbers are parsed. */
export function keyValueFlags(pairs: readonly string[], flag: string): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  for (const [key, raw] of Object.entries(keyValueTexts(pairs, flag))) {
    out[key] = raw === 'true' ? true : raw === 'false' ? false : raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return out;
}

/**
 * Repeated `--option key=value` flags parsed against the declared options of `owner` (e.g.
 * "attack 'fgsm'"): an unknown key or a value of the wrong type is a one-line error naming the
 * option and its type.
 */
export function optionFlags(pairs: readonly string[], owner: string, specs: readonly OptionSpec[], flag = '--option'): Record<string, OptionValue> {
  try {
    return parseOptions(owner, specs, keyValueTexts(pairs, flag));
  } catch (e) {
    if (e instanceof KilnError && !e.message.startsWith(flag)) throw new KilnError(`${flag}: ${e.message}`);
    throw e;
  }
}

/** Declared options as indented help lines (`--option name=<type>  description (default d)`). */
export function optionsHelp(specs: readonly OptionSpec[], indent = '    ', flag = '--option'): string {
  return specs.length ? describeOptions(specs).map((l) => `${indent}${flag} ${l}`).join('\n') : `${indent}(no options)`;
}

/** Commander accumulator for repeatable flags. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * Ctrl-C for long work: the first SIGINT aborts `signal` (the work stops at its next safe point and
 * keeps what it finished), a second one exits at once. Call `dispose` when the work is over.
 */
export function interruptSignal(message: string): { signal: AbortSignal; dispose(): void } {
  const stop = new AbortController();
  const onSigint = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
    process.stderr.write(`\nkiln: ${message} (Ctrl-C again to quit at once)\n`);
  };
  process.on('SIGINT', onSigint);
  return { signal: stop.signal, dispose: () => process.off('SIGINT', onSigint) };
}

/** The `--backend` flag every command that computes takes. */
export const backendOption = (): Option => new Option('--backend <name>',
  'tfjs backend: native (libtorch, the default where it loads), wasm or cpu; KILN_BACKEND sets the default').choices([...BACKENDS]);
