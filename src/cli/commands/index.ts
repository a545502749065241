import type { Command } from 'commander';
import { register as demo } from './demo.js';
import { register as explain } from './explain.js';
import { register as search } from './search.js';
import { register as storybench } from './storybench.js';
import { register as study } from './study.js';
import { register as train } from './train.js';

/** Every command group of the CLI; each module adds its commands to the program. */
export const COMMANDS: ((program: Command) => void)[] = [demo, search, study, train, explain, storybench];
