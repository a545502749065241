#!/usr/bin/env node
// Builds Kiln's native backend (native/, an N-API addon over Debian's libtorch) when libtorch's
// headers are installed; otherwise says in one line what to install. Never fails the install:
// without the addon Kiln runs on the wasm backend. `npm ci` runs this; `npm run build:native`
// runs it again with the compiler's output shown (--verbose).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, 'native');
const verbose = process.argv.includes('--verbose');
const INSTALL = 'apt-get install libtorch-dev libopenblas0-openmp';
const say = (message) => console.log(`kiln: ${message}`);

function main() {
  if (process.env.KILN_SKIP_NATIVE === '1') return say('native backend build skipped (KILN_SKIP_NATIVE=1); using wasm');
  const torchInclude = process.env.KILN_TORCH_INCLUDE ?? '/usr/include/torch/csrc/api/include';
  if (!fs.existsSync(path.join(torchInclude, 'torch', 'version.h')) || !fs.existsSync('/usr/include/ATen/ATen.h')) {
    return say(`native backend not built: libtorch headers not found (${INSTALL}, then npm run build:native); using wasm`);
  }
  // Node's own headers: node-gyp would otherwise download them, and installs must not.
  const nodeDir = [path.resolve(path.dirname(process.execPath), '..'), '/usr'].find((d) => fs.existsSync(path.join(d, 'include', 'node', 'node_api.h')));
  if (!nodeDir) return say('native backend not built: Node.js headers (include/node/node_api.h) not found; using wasm');
  const gyp = [process.env.npm_config_node_gyp, path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')]
    .find((p) => p && fs.existsSync(p));
  if (!gyp) return say('native backend not built: node-gyp (bundled with npm) not found; using wasm');

  const start = Date.now();
  const log = path.join(nativeDir, 'build.log');
  const r = spawnSync(process.execPath, [gyp, 'configure', 'build', `--nodedir=${nodeDir}`, '--jobs=max'], {
    cwd: nativeDir, encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe',
  });
  if (!verbose) fs.writeFileSync(log, `${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.status !== 0) return say(`native backend build failed (${verbose ? 'output above' : `see ${path.relative(process.cwd(), log)}`}); using wasm`);
  // A build that does not load (libtorch of another version, missing symbols) is no backend.
  const addon = path.join(nativeDir, 'build', 'Release', 'kiln_native.node');
  const check = spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(addon)}).info().torch)`], { encoding: 'utf8' });
  if (check.status !== 0) {
    const reason = (check.stderr.split('\n').find((l) => /Error/.test(l)) ?? 'unknown error').trim().slice(0, 160);
    return say(`native backend built but does not load (${reason}); using wasm`);
  }
  say(`built the native backend (libtorch ${check.stdout.trim()}) in ${((Date.now() - start) / 1000).toFixed(0)} s`);
}

main();
