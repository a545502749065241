import type { Command } from 'commander';

/** Every command group of the CLI; each module adds its commands to the program. */
export const COMMANDS: ((program: Command) => void)[] = [];
