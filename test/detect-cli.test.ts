import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { register } from '../src/cli/commands/detect.js';
import { KilnError, projectRoot } from '../src/core/index.js';
import { runCommands } from './helpers.js';
import { tempDir } from './temp-dir.js';

const cli = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
/** The real CLI in a child process, for what only a process shows: exit status and stderr. */
const spawnKiln = (...args: string[]) => spawnSync(process.execPath, [cli, 'detect', ...args], { encoding: 'utf8' });
const kiln = (...args: string[]): Promise<string> => runCommands([register], ['detect', ...args]);
const dir = tempDir('kiln-detect-cli-');
const at = (name: string) => path.join(dir, name);
const writeJson = (name: string, value: unknown): string => {
  fs.writeFileSync(at(name), JSON.stringify(value));
  return at(name);
};

describe('kiln detect eval', () => {
  const fixture = JSON.parse(fs.readFileSync(path.join(projectRoot(), 'test/fixtures/detect/coco-eval-cases.json'), 'utf8')) as {
    cases: { gt: { images: unknown[]; annotations: Record<string, unknown>[] }; dt: Record<string, unknown>[]; stats: number[] }[];
  };
  const c = fixture.cases[0];
  const gt = writeJson('gt.json', c.gt);
  const dt = writeJson('dt.json', c.dt);

  it('--json prints the twelve pycocotools stats', () => {
    const r = spawnKiln('eval', '--gt', gt, '--dt', dt, '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { stats: c.stats });
  });

  it('prints a named table without --json', async () => {
    const out = await kiln('eval', '--gt', gt, '--dt', dt);
    assert.match(out, new RegExp(`^AP +${c.stats[0].toFixed(3)}$`, 'm'));
    assert.equal(out.trim().split('\n').length, 12);
  });

  it('a malformed file is one kiln: line on stderr and exit 2', () => {
    const r = spawnKiln('eval', '--gt', gt, '--dt', at('broken.json'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^kiln: results [^\n]*broken\.json is not valid JSON[^\n]*\n$/);
  });

  const badGt = { ...c.gt, annotations: [{ ...c.gt.annotations[0], bbox: [0, 0, 5000, 10] }] };
  const cases: [string, () => string[], RegExp][] = [
    ['missing --gt', () => ['eval', '--dt', dt], /needs --gt/],
    ['ground truth not found', () => ['eval', '--gt', at('none.json'), '--dt', dt], /ground truth not found/],
    ['a box outside its image', () => ['eval', '--gt', writeJson('bad-gt.json', badGt), '--dt', dt], /lies outside image/],
    ['results with an unknown category', () => ['eval', '--gt', gt, '--dt', writeJson('bad-dt.json', [{ ...c.dt[0], category_id: 99 }])], /unknown category_id 99/],
    ['results missing a score', () => ['eval', '--gt', gt, '--dt', writeJson('noscore.json', [{ ...c.dt[0], score: undefined }])], /missing field 'score'/],
    ['results that are no JSON', () => ['eval', '--gt', gt, '--dt', at('broken.json')], /not valid JSON/],
  ];
  fs.writeFileSync(at('broken.json'), '[{"image_id": ');
  for (const [what, args, message] of cases) {
    it(`rejects ${what} with a one-line KilnError (exit 2)`, async () => {
      await assert.rejects(kiln(...args()), (e: unknown) => e instanceof KilnError && e.exitCode === 2 && message.test(e.message) && !e.message.includes('\n'));
    });
  }
});

describe('kiln detect data', () => {
  it('lists the built-in sets', async () => {
    const out = await kiln('data', '--list');
    assert.match(out, /^shapes-det$/m);
    assert.match(out, /^digits-det$/m);
  });

  it('writes a preview PNG and COCO ground truth that kiln detect eval accepts', async () => {
    const out = await kiln('data', '--data', 'shapes-det', '--split', 'val', '--count', '3', '--preview', at('new/p.png'), '--gt-out', at('val.json'));
    assert.match(out, /^val: 300 images, \d+ boxes/m);
    assert.equal(PNG.sync.read(fs.readFileSync(at('new/p.png'))).width, 3 * (64 * 4 + 6) + 6);
    const gt = JSON.parse(fs.readFileSync(at('val.json'), 'utf8')) as { annotations: { image_id: number; category_id: number; bbox: number[] }[] };
    const perfect = writeJson('perfect.json', gt.annotations.map((a) => ({ image_id: a.image_id, category_id: a.category_id, bbox: a.bbox, score: 1 })));
    const e = await kiln('eval', '--gt', at('val.json'), '--dt', perfect, '--json');
    assert.ok(Math.abs((JSON.parse(e) as { stats: number[] }).stats[0] - 1) < 1e-12);
  });

  it('refuses an unknown set and a preview where a file blocks its folder, before generating', async () => {
    await assert.rejects(kiln('data', '--data', 'nope'), /unknown detection dataset 'nope'/);
    fs.writeFileSync(at('blocker'), '');
    await assert.rejects(kiln('data', '--data', 'shapes-det', '--preview', at('blocker/p.png')), /cannot be a folder/);
  });
});
