import { KilnError, createProgress, type Progress } from '../core/index.js';

/**
 * Runs a CLI action so that a KilnError (bad input) becomes one line on stderr and exit code 2,
 * and anything unexpected becomes one line too unless KILN_DEBUG asks for the stack.
 */
export function reportFatal(err: unknown): never {
  if (err instanceof KilnError) {
    // One line, whatever a message quotes from the input (a column name may hold a newline).
    process.stderr.write(`kiln: ${err.message.replace(/[\r\n]+/g, ' ')}\n`);
    process.exit(err.exitCode);
  }
  const e = err as { code?: unknown; message?: string; stack?: string };
  if (e?.code === 'commander.helpDisplayed' || e?.code === 'commander.version') process.exit(0);
  // Other errors carry codes too, and not always strings (a number from a native library).
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) process.exit(2);
  if (process.env.KILN_DEBUG) process.stderr.write(`${e?.stack ?? String(err)}\n`);
  else process.stderr.write(`kiln: internal error: ${e?.message ?? String(err)} (set KILN_DEBUG=1 for the stack)\n`);
  process.exit(1);
}

/**
 * Progress bars fed by a library's progress callback (libraries never draw): one bar per label,
 * e.g. per system run, each created when its first update says what the total is.
 */
export
function progressBars(prefix: string): { update(done: number, total: number, label?: string): void; done(): void } {
  let bar: Progress | undefined;
  let current: string | undefined;
  return {
    update(done, total, label = '') {
      if (!bar || label !== current) {
        bar?.done();
        bar = createProgress({ label: `${prefix}${label ? ' ' + label : ''}`, total });
        current = label;
      }
      bar.update(done);
    },
    done: () => bar?.done(),
  };
}
