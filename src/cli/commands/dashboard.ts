/**
 * `kiln dashboard`: a live page of the studies in a storage (progress, best so far, objective vs
 * cost with the Pareto front, trial table), refreshed while searches write.
 */
import net from 'node:net';
import { Command } from 'commander';
import { KilnError } from '../../core/index.js';
import { num, outputDirParser } from '../flags.js';
import { startDashboard } from '../../server/index.js';

/** An IP address or a host name (letters, digits, dots, dashes); checked in the action, as a name may look like a number. */
function checkHost(value: string): string {
  if (net.isIP(value) || /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(value)) return value;
  throw new KilnError(`--host must be an IP address or a host name, got '${value}'`);
}

export function register(program: Command): void {
  program
    .command('dashboard')
    .description('serve a live page of the studies in a storage: progress, best so far, objective vs cost with the Pareto front, trials')
    .option('--storage <uri>', 'where studies live: sqlite:FILE.db (opened read-only)', 'sqlite:kiln.db')
    .option('--port <n>', 'TCP port (0 picks a free one)', (v: string) => num(v, '--port', { int: true, min: 0, max: 65535 }), 8090)
    .option('--host <addr>', 'address to bind (127.0.0.1 keeps the page on this machine)', '127.0.0.1')
    .option('--artifacts <dir>', 'the folder the searches and workers were given as --artifacts: the trial table links each trial to its files',
      outputDirParser('--artifacts'))
    .action(async (opts: { storage: string; port: number; host: string; artifacts?: string }) => {
      const app = await startDashboard({ storage: opts.storage, host: checkHost(opts.host), port: opts.port, artifacts: opts.artifacts });
      console.log(`dashboard of ${opts.storage} on ${app.url}; Ctrl-C to stop`);
      process.once('SIGINT', () => void app.close().then(() => process.exit(0)));
    });
}
