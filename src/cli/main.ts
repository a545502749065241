#!/usr/bin/env node
import { Command } from 'commander';
import { reportFatal } from './run.js';
import { COMMANDS } from './commands/index.js';

const program = new Command('kiln')
  .description('Search, train, explain, stress and benchmark small neural networks and generated video stories')
  .version('0.1.0')
  // Kiln's own --version only before a command: after one, --version is the command's (kiln attack --version plus).
  .enablePositionalOptions()
  // Commander's own errors (unknown flag, missing value) as one `kiln: ...` line like every other.
  .configureOutput({ outputError: (text, write) => write(`kiln: ${text.replace(/^error: /, '').trim()} (see --help)\n`) })
  .exitOverride();

// `kiln ... | head` closes stdout early: stop quietly with success, as Unix tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' ? process.exit(0) : reportFatal(err)));

for (const register of COMMANDS) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  reportFatal(err);
}
