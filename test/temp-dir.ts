/**
 * Temporary folders for tests, removed when the test process exits (node's runner gives each test
 * file its own process), so that `npm test` leaves nothing behind in the OS's temporary folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder in the OS's temporary folder, named `prefix` and six random characters. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
