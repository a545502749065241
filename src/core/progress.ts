/**
 * Progress reporting for long work: a redrawn bar when the stream is a terminal, plain
 * lines (at most one per `lineEvery` ms) otherwise, nothing when quiet.
 */
export interface Progress {
  update(done: number, note?: string): void;
  done(note?: string): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  stream?: NodeJS.WriteStream;
  quiet?: boolean;
  lineEvery?: number;
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return { update() {}, done() {} };
  const tty = Boolean(stream.isTTY);
  const lineEvery = opts.lineEvery ?? 2000;
  let lastLine = 0;
  const render = (done: number, note: string): string => {
    const frac = opts.total > 0 ? Math.min(1, done / opts.total) : 1;
    const width = 30;
    const filled = Math.round(frac * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    return `${opts.label} [${bar}] ${done}/${opts.total}${note ? ' ' + note : ''}`;
  };
  return {
    update(done, note = '') {
      if (tty) {
        stream.write('\r\x1b[K' + render(done, note));
      } else {
        const now = Date.now();
        if (now - lastLine >= lineEvery || done >= opts.total) {
          lastLine = now;
          stream.write(`${opts.label}: ${done}/${opts.total}${note ? ' ' + note : ''}\n`);
        }
      }
    },
    done(note = '') {
      if (tty) stream.write('\r\x1b[K' + render(opts.total, note) + '\n');
      else stream.write(`${opts.label}: done${note ? ' ' + note : ''}\n`);
    },
  };
}
