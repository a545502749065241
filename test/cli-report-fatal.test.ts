import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../src/core/index.js';

const run = pathToFileURL(path.join(projectRoot(), 'dist', 'src', 'cli', 'run.js')).href;

/** reportFatal(error) in a child process: its exit code and stderr. */
function fatal(error: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const { reportFatal } = await import(${JSON.stringify(run)}); reportFatal(${error});`], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

test('an unexpected error is one internal-error line and exit 1, whatever its code holds', () => {
  for (const code of ['25', '"ERR_X"', '{ a: 1 }', 'undefined']) {
    const r = fatal(`Object.assign(new Error('boom'), { code: ${code} })`);
    assert.deepEqual(r, { status: 1, stderr: 'kiln: internal error: boom (set KILN_DEBUG=1 for the stack)\n' }, `code ${code}`);
  }
});

test('commander\'s usage errors exit 2 and its help exits 0', () => {
  assert.equal(fatal(`Object.assign(new Error('x'), { code: 'commander.unknownOption' })`).status, 2);
  assert.equal(fatal(`Object.assign(new Error('x'), { code: 'commander.helpDisplayed' })`).status, 0);
});
