/**
 * A KilnError is a problem with the user's input or environment: the CLI prints its message on one
 * line and exits with `exitCode` (2 = bad input), never a stack trace.
 */
export class KilnError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'KilnError';
  }
}

/** Throws a KilnError unless `cond` holds; narrows the type like an assertion. */
export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new KilnError(message);
}
