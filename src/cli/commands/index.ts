import type { Command } from 'commander';
import { register as demo } from './demo.js';
import { register as search } from './search.js';
import { register as study } from './study.js';

/** Every command group of the CLI; each module adds its commands to the program. */
export const COMMANDS: ((program: Command) => void)[] = [demo, search, study];
