import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

/** The package root (the folder with package.json), found from this compiled file's location. */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('kiln: package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

/** A path inside the shipped `data/` folder. */
export function dataPath(...parts: string[]): string {
  return path.join(projectRoot(), 'data', ...parts);
}
