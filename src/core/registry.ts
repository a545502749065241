import { KilnError } from './errors.js';

/**
 * A registry of pluggable things keyed by name (controllers, evaluators, cost models, analyzers,
 * attacks, metrics). Tests loop over `names()` so every registered entry is exercised.
 */
export interface Registry<F> {
  readonly kind: string;
  register(name: string, factory: F, description?: string): void;
  get(name: string): F;
  has(name: string): boolean;
  names(): string[];
  describe(name: string): string;
}

export function createRegistry<F>(kind: string): Registry<F> {
  const entries = new Map<string, { factory: F; description: string }>();
  return {
    kind,
    register(name, factory, description = '') {
      if (entries.has(name)) throw new Error(`${kind} '${name}' is already registered`);
      entries.set(name, { factory, description });
    },
    get(name) {
      const entry = entries.get(name);
      if (!entry) {
        throw new KilnError(`unknown ${kind} '${name}' (known: ${[...entries.keys()].join(', ')})`);
      }
      return entry.factory;
    },
    has: (name) => entries.has(name),
    names: () => [...entries.keys()],
    describe: (name) => entries.get(name)?.description ?? '',
  };
}
