import { KilnError } from './errors.js';

/**
 * Declared options of pluggable things (analyzers, controllers, attacks, metrics): each entry of a
 * registry lists its options with name, type, default and a description, so help text and error
 * messages come from one declaration and a `key=value` string is parsed against it.
 */
export type OptionValue = number | boolean | string;

export interface OptionSpec {
  name: string;
  /** 'integer' is a number that must be whole; 'string' with `choices` is an enumeration. */
  type: 'number' | 'integer' | 'boolean' | 'string';
  /** Absent when the default depends on other options (the description says how) or there is none. */
  default?: OptionValue;
  choices?: readonly string[];
  /** Inclusive bounds of a number or integer. */
  min?: number;
  max?: number;
  description: string;
}

/** The type as help and errors show it: `integer >= 1`, `number in [0, 1]`, `mlp|gcn`, `true|false`. */
export function optionType(spec: OptionSpec): string {
  if (spec.type === 'boolean') return 'true|false';
  if (spec.type === 'string') return spec.choices ? spec.choices.join('|') : 'string';
  const { min, max } = spec;
  if (min !== undefined && max !== undefined) return `${spec.type} in [${min}, ${max}]`;
  if (min !== undefined) return `${spec.type} >= ${min}`;
  if (max !== undefined) return `${spec.type} <= ${max}`;
  return spec.type;
}

/** One help line per option: `name=<type>  description (default d)`. */
export function describeOptions(specs: readonly OptionSpec[]): string[] {
  return specs.map((s) => `${s.name}=<${optionType(s)}>  ${s.description}${s.default === undefined ? '' : ` (default ${String(s.default)})`}`);
}

/** `name=default` for every option with a fixed default, for one-line registry descriptions. */
export function optionDefaults(specs: readonly OptionSpec[]): string {
  return specs.map((s) => (s.default === undefined ? s.name : `${s.name}=${String(s.default)}`)).join(', ');
}

function typeError(owner: string, spec: OptionSpec, got: unknown): KilnError {
  return new KilnError(`option '${spec.name}' of ${owner} must be ${spec.type === 'string' && !spec.choices ? 'a string' : `<${optionType(spec)}>`} (got ${JSON.stringify(got)})`);
}

/** Checks one typed value against its spec; `owner` names the thing in errors, e.g. "attack 'fgsm'". */
export function checkOptionValue(owner: string, spec: OptionSpec, value: unknown): OptionValue {
  const ok = (() => {
    switch (spec.type) {
      case 'boolean':
        return typeof value === 'boolean';
      case 'string':
        return typeof value === 'string' && (!spec.choices || spec.choices.includes(value));
      default:
        return typeof value === 'number' && Number.isFinite(value) && (spec.type !== 'integer' || Number.isInteger(value)) &&
          (spec.min === undefined || value >= spec.min) && (spec.max === undefined || value <= spec.max);
    }
  })();
  if (!ok) throw typeError(owner, spec, value);
  return value as OptionValue;
}

/** Parses the text of a `key=value` flag as the spec's type, then checks it; errors quote the text as given. */
export function parseOptionValue(owner: string, spec: OptionSpec, text: string): OptionValue {
  const value = spec.type === 'string' ? text
    : spec.type === 'boolean' ? (text === 'true' ? true : text === 'false' ? false : text)
      : text.trim() === '' ? NaN : Number(text);
  try {
    return checkOptionValue(owner, spec, value);
  } catch {
    throw typeError(owner, spec, text);
  }
}

function specOf(owner: string, specs: readonly OptionSpec[], key: string): OptionSpec {
  const spec = specs.find((s) => s.name === key);
  if (!spec) {
    const known = specs.map((s) => `${s.name}=<${optionType(s)}>`);
    throw new KilnError(`${owner} has no option '${key}' (${known.length ? `options: ${known.join(', ')}` : 'it takes no options'})`);
  }
  return spec;
}

/** Checks every given option is declared and has the declared type; returns them (defaults not filled in). */
export function checkOptions(owner: string, specs: readonly OptionSpec[], given: Readonly<Record<string, unknown>>): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined) out[key] = checkOptionValue(owner, specOf(owner, specs, key), value);
  }
  return out;
}

/** Parses `key=value` texts against the specs: unknown names and malformed values are KilnErrors. */
export function parseOptions(owner: string, specs: readonly OptionSpec[], pairs: Readonly<Record<string, string>>): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const [key, text] of Object.entries(pairs)) out[key] = parseOptionValue(owner, specOf(owner, specs, key), text);
  return out;
}

/** The given options over the declared defaults. */
export function withDefaults(specs: readonly OptionSpec[], given: Readonly<Record<string, OptionValue>>): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const s of specs) if (s.default !== undefined) out[s.name] = s.default;
  return { ...out, ...given };
}
