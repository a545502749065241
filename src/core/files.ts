import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from './errors.js';

/**
 * Checks that `file` is an existing regular file before it is read, so that a missing path or a
 * folder given for a file is a one-line error naming `what` (e.g. 'table file'), not EISDIR.
 */
export function checkInputFile(file: string, what: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new KilnError(`${what} not found: ${file}`);
  }
  if (!stat.isFile()) throw new KilnError(`${what} ${file} is ${stat.isDirectory() ? 'a folder' : 'not a regular file'}, not a file`);
}

/** Checks that an output file can be created: its folder exists and the path is not a folder. */
export function checkOutputFile(file: string, what: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new KilnError(`${what} ${file}: folder ${dir} does not exist`);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new KilnError(`${what} ${file} is a folder`);
}

/** Checks that an output folder either exists as a folder or can be made (no file in its place). */
export function checkOutputDir(dir: string, what: string): void {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (fs.existsSync(d)) {
      if (!fs.statSync(d).isDirectory()) throw new KilnError(`${what} ${dir} cannot be a folder: ${d} is a file`);
      return;
    }
    if (path.dirname(d) === d) return;
  }
}

/** SHA-256 of a file's bytes, hex: a fingerprint of an input (a table) that its path alone is not. */
export function fileSha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Reads a file that must be text (a CSV table, a task list): NUL bytes or undecodable UTF-8 mean it is
 * binary, which gets a one-line error instead of a parse of garbage.
 */
export function readTextFile(file: string, what: string): string {
  const bytes = fs.readFileSync(file);
  const text = bytes.toString('utf8');
  if (bytes.includes(0) || text.includes('\uFFFD')) throw new KilnError(`${what} ${file} is not a text file (binary or not UTF-8)`);
  return text;
}

/** Reads and parses a JSON file; a missing file or invalid JSON is a one-line error naming `what`. */
export function readJsonFile(file: string, what: string): unknown {
  checkInputFile(file, what);
  const text = readTextFile(file, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new KilnError(`${what} ${file} is not valid JSON: ${(e as Error).message}`);
  }
}
