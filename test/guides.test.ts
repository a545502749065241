/**
 * Runs the guides in docs/guides so they cannot rot: every guide's ```ts blocks are type-checked against the
 * built package's declarations and run with node as one ES module, importing 'kiln' and 'kiln/<face>' by
 * package self-reference (the same `exports` map an installed package resolves), and every `npx kiln ...`
 * line of its ```sh blocks runs through the built CLI. The code checks its own results with `assert`, so a
 * wrong result fails here, not only a crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../src/core/index.js';
import { tempDir } from './temp-dir.js';
import { onnxRuntimeAvailable, ONNXRUNTIME_HINT } from '../src/nn/onnx/index.js';

const root = projectRoot();
const guidesDir = path.join(root, 'docs', 'guides');
// Inside the package, so that `import 'kiln'` resolves to this package through its own exports.
const scratch = path.join(root, 'dist', 'guides');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
const TIMEOUT_MS = 180_000;
/** Guides whose CLI lines measure or check on onnxruntime (an optional dependency) skip them where it does not load. */
const noOrt = (await onnxRuntimeAvailable()) ? false : ONNXRUNTIME_HINT;
const runsOrt = (line: string) => line.includes('--device onnx');

/** The bodies of the fenced code blocks of one language, in order. */
function codeBlocks(markdown: string, lang: string): string[] {
  const fence = /^```(\w*)[^\n]*\n([\s\S]*?)^```\s*$/gm;
  return [...markdown.matchAll(fence)].filter((m) => m[1] === lang).map((m) => m[2]);
}

/** The `npx kiln ...` commands of shell blocks, backslash continuations joined. */
function kilnCommands(shell: string): string[] {
  return shell.replace(/\s*\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('npx kiln '));
}

/** Shell words of one command line: whitespace-separated, with '...' and "..." quoting (no expansions). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    words.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]);
  }
  return words;
}

const guides = fs.readdirSync(guidesDir).filter((f) => f.endsWith('.md')).sort()
  .map((file) => {
    const markdown = fs.readFileSync(path.join(guidesDir, file), 'utf8');
    return {
      name: path.basename(file, '.md'),
      code: codeBlocks(markdown, 'ts'),
      commands: codeBlocks(markdown, 'sh').flatMap(kilnCommands),
    };
  });

/** A guide's ts blocks as one module source (imports may sit in any block: ESM hoists them). */
const moduleSource = (code: string[]) => code.join('\n');

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: TIMEOUT_MS, env });
  assert.equal(r.status, 0, `${[command, ...args].join(' ')} failed (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
}

test('the guide extractor reads fences, continuations and quoting', () => {
  const md = 'text\n```sh\nnpx kiln a --x \\\n  \'p<=6\' "two words"\nnpm ci\n```\n```ts\nconst a = 1;\n```\n';
  assert.deepEqual(codeBlocks(md, 'ts'), ['const a = 1;\n']);
  assert.deepEqual(codeBlocks(md, 'sh').flatMap(kilnCommands), ['npx kiln a --x \'p<=6\' "two words"']);
  assert.deepEqual(shellWords('npx kiln a --x \'p<=6\' "two words"'), ['npx', 'kiln', 'a', '--x', 'p<=6', 'two words']);
});

test('every capability has a guide with CLI lines and self-checking library code, indexed in docs/README.md', () => {
  const index = fs.readFileSync(path.join(root, 'docs', 'README.md'), 'utf8');
  assert.deepEqual(guides.map((g) => g.name), ['attack', 'detect', 'explain', 'search', 'storybench', 'train', 'video']);
  for (const g of guides) {
    assert.ok(index.includes(`guides/${g.name}.md`), `docs/README.md links ${g.name}.md`);
    assert.ok(g.commands.length > 0, `${g.name}.md shows the CLI`);
    assert.ok(g.code.length > 0, `${g.name}.md shows the library`);
    for (const block of g.code) {
      assert.match(block, /from 'kiln(\/\w+)?'/, `${g.name}.md imports Kiln as a user would`);
      assert.match(block, /\bassert(\.\w+)?\(/, `${g.name}.md checks its own result`);
    }
  }
});

test('the guides type-check against the built declarations', () => {
  fs.mkdirSync(scratch, { recursive: true });
  const files = guides.map((g) => {
    const file = path.join(scratch, `${g.name}.ts`);
    fs.writeFileSync(file, moduleSource(g.code));
    return file;
  });
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'], types: ['node'], strict: true, noEmit: true, skipLibCheck: true,
  });
  const errors = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : '';
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
  });
  assert.deepEqual(errors, []);
});

for (const g of guides) {
  test(`guide ${g.name}: the library code runs and its checks pass`, () => {
    fs.mkdirSync(scratch, { recursive: true });
    const file = path.join(scratch, `${g.name}.mjs`);
    const js = ts.transpileModule(moduleSource(g.code), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, fileName: `${g.name}.ts`,
    }).outputText;
    fs.writeFileSync(file, js);
    // The guides write to os.tmpdir(); here that is a folder of their own, removed afterwards.
    const tmp = tempDir(`kiln-guide-${g.name}-`);
    try {
      run(process.execPath, [file], tmp, { ...process.env, TMPDIR: tmp });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  /** Runs `lines` in a fresh folder seen as a Kiln checkout: `data/` is there and outputs go to its kiln-out/. */
  const runLines = (lines: string[]) => {
    const cwd = tempDir(`kiln-guide-${g.name}-`);
    fs.symlinkSync(path.join(root, 'data'), path.join(cwd, 'data'));
    try {
      for (const line of lines) run(process.execPath, [cli, ...shellWords(line).slice(2)], cwd);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  };
  test(`guide ${g.name}: the CLI lines run`, () => runLines(g.commands.filter((line) => !runsOrt(line))));
  // The lines that measure on onnxruntime use built-in data only, so they run apart from the others.
  const ortLines = g.commands.filter(runsOrt);
  if (ortLines.length > 0) test(`guide ${g.name}: the CLI lines that run onnxruntime run`, { skip: noOrt }, () => runLines(ortLines));
}
