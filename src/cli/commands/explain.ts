import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { backendOption, keyValueFlags, num } from '../flags.js';
import { KilnError, check } from '../../core/index.js';
import { initBackend, tf } from '../../backend/index.js';
import { loadDataset, numExamples, exampleSize, standardize, type Dataset, type Standardizer } from '../../data/index.js';
import { loadModel, writeAtomic } from '../../nn/index.js';
import {
  composites, createAnalyzer, gridPng, heatmapTile, imageTile, listAnalyzers, listComposites, readPngInput, NEURON_SELECTIONS,
  type AnalyzerInfo, type NeuronSelection, type OptionValue, type Tile,
} from '../../explain/index.js';

interface ExplainFlags {
  list?: boolean;
  model?: string;
  input?: string;
  dataset?: string;
  index: string;
  analyzer?: string;
  composite?: string;
  param: string[];
  neuron: string;
  target?: string;
  stripSoftmax?: boolean;
  fitDataset?: string;
  fitSamples: string;
  scale: string;
  out: string;
  backend?: string;
}

function formatList(infos: AnalyzerInfo[]): string {
  const lines: string[] = [];
  for (const a of infos) {
    lines.push(`${a.name}${a.needsFit ? ' (fitted on training data)' : ''}`);
    lines.push(`    ${a.description}`);
    for (const o of a.options) {
      const def = o.default === undefined ? 'required' : `default ${String(o.default)}`;
      lines.push(`    --param ${o.name}=<${o.choices ? o.choices.join('|') : o.type}>  ${o.description} (${def})`);
    }
  }
  return lines.join('\n');
}

/** "3", "0..9" (inclusive) or "1,4,7". */
export function parseIndices(spec: string, count: number): number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(spec.trim());
  const out = range
    ? Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => Number(range[1]) + i)
    : spec.split(',').map((s) => Number(s.trim()));
  check(out.length > 0 && out.every((i) => Number.isInteger(i) && i >= 0 && i < count),
    `--index must be N, A..B or a comma list of example indices in [0, ${count}) (got '${spec}')`);
  return out;
}

/** The options each analyzer receives: the --param values it declares, plus [0, 1] pixel bounds for deep_taylor.bounded. */
function optionsFor(info: AnalyzerInfo, params: Record<string, OptionValue>): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const o of info.options) if (params[o.name] !== undefined) out[o.name] = params[o.name];
  if (info.name === 'deep_taylor.bounded') {
    out.low ??= 0;
    out.high ??= 1;
  }
  return out;
}

const DEFAULT_ANALYZERS = 'gradient,integrated_gradients,lrp.epsilon';

/** The analyzers to run: --analyzer, else the lrp analyzer alone when --composite names one, else the defaults. */
function analyzerNames(flags: ExplainFlags): string[] {
  const spec = flags.analyzer ?? (flags.composite !== undefined ? 'lrp' : DEFAULT_ANALYZERS);
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  check(names.length > 0, '--analyzer needs at least one analyzer name (see kiln explain --list)');
  if (flags.composite !== undefined) {
    // The registry's own message: "unknown composite 'x' (known: ...)".
    composites.get(flags.composite);
    check(names.includes('lrp'), `--composite chooses the composite of the lrp analyzer: add lrp to --analyzer (got ${names.join(',')})`);
  }
  return names;
}

/** The column heading of an analyzer in the PNG grid. */
function columnLabel(name: string, composite: string | undefined): string {
  return name === 'lrp' ? `lrp ${composite ?? 'epsilon-plus'}` : name;
}

function rowLabel(source: string, label: number | null, predicted: number): string {
  return [source, ...(label !== null ? [`true ${label}`] : []), `pred ${predicted}`].join('\n');
}

function examples(ds: Dataset, indices: number[]): Float32Array {
  const size = exampleSize(ds);
  const out = new Float32Array(indices.length * size);
  indices.forEach((i, k) => out.set(ds.x.subarray(i * size, (i + 1) * size), k * size));
  return out;
}

async function run(flags: ExplainFlags): Promise<void> {
  if (flags.list) {
    process.stdout.write(formatList(listAnalyzers()) + '\n');
    return;
  }
  check(flags.model, 'kiln explain needs --model DIR/model.json (or --list)');
  check(Boolean(flags.input) !== Boolean(flags.dataset), 'give exactly one of --input image.png and --dataset NAME');
  const infos = new Map(listAnalyzers().map((a) => [a.name, a]));
  const names = analyzerNames(flags);
  for (const n of names) check(infos.has(n), `unknown analyzer '${n}' (known: ${[...infos.keys()].join(', ')})`);
  const params = keyValueFlags(flags.param, '--param');
  for (const key of Object.keys(params)) {
    check(names.some((n) => infos.get(n)!.options.some((o) => o.name === key)),
      `--param ${key}: none of the chosen analyzers has that option`);
  }
  const neuron = flags.neuron as NeuronSelection;
  check(neuron !== 'index' || flags.target !== undefined, '--neuron index needs --target CLASS');
  const scale = num(flags.scale, '--scale', { int: true, min: 1, max: 32 });
  const fitSamples = num(flags.fitSamples, '--fit-samples', { int: true, min: 1 });

  await initBackend(flags.backend);
  const model = await loadModel(flags.model);
  const shape = model.inputs[0].shape.slice(1) as number[];
  const size = shape.reduce((a, b) => a * b, 1);

  // A model trained by `kiln train` on tabular data saw standardized features: explain it on the same.
  const standardizer = (model.getUserDefinedMetadata() as { kiln?: { standardizer?: Standardizer | null } } | undefined)?.kiln?.standardizer;
  const load = (name: string): Dataset => {
    const ds = loadDataset(name);
    return standardizer && ds.shape.length === 1 ? standardize(ds, standardizer) : ds;
  };
  let data: Float32Array;
  let sources: string[];
  let labels: (number | null)[];
  const dataset = flags.dataset ? load(flags.dataset) : null;
  if (dataset) {
    check(exampleSize(dataset) === size, `dataset ${dataset.name} has examples of shape [${dataset.shape}], the model takes [${shape}]`);
    const indices = parseIndices(flags.index, numExamples(dataset));
    data = examples(dataset, indices);
    sources = indices.map((i) => `${dataset.name}[${i}]`);
    labels = indices.map((i) => dataset.y[i]);
  } else {
    data = readPngInput(flags.input!, shape);
    sources = [flags.input!];
    labels = [null];
  }
  const x = tf.tensor(data, [sources.length, ...shape]);
  const outputs = model.outputs[0].shape[model.outputs[0].shape.length - 1] ?? 1;
  const target = flags.target !== undefined ? num(flags.target, '--target', { int: true, min: 0, max: outputs - 1 }) : undefined;
  const scores = tf.tidy(() => (model.predict(x) as tf.Tensor).arraySync() as number[][]);
  const predicted = scores.map((row) => row.indexOf(Math.max(...row)));

  let fitData: tf.Tensor | null = null;
  const fitName = flags.fitDataset ?? flags.dataset;
  const relevances: Record<string, Float32Array> = {};
  let explained: number[] | null = null;
  for (const name of names) {
    const composite = name === 'lrp' && flags.composite !== undefined ? { composite: flags.composite } : {};
    const analyzer = createAnalyzer(name, model,
      { ...optionsFor(infos.get(name)!, params), ...composite, stripSoftmax: flags.stripSoftmax === true });
    if (analyzer.fit) {
      if (!fitData) {
        if (!fitName) throw new KilnError(`analyzer '${name}' is fitted on training data: give --fit-dataset NAME`);
        const fitSet = dataset && fitName === flags.dataset ? dataset : load(fitName);
        check(exampleSize(fitSet) === size, `fit dataset ${fitSet.name} does not match the model's input [${shape}]`);
        const count = Math.min(fitSamples, numExamples(fitSet));
        // Every k-th example, so all classes are represented in the fitting sample.
        const step = numExamples(fitSet) / count;
        fitData = tf.tensor(examples(fitSet, Array.from({ length: count }, (_, i) => Math.floor(i * step))), [count, ...shape]);
      }
      analyzer.fit(fitData);
    }
    const { relevance, neuron: which } = analyzer.explain(x, { neuronSelection: neuron, index: target });
    relevances[name] = relevance.dataSync() as Float32Array;
    explained = which;
    relevance.dispose();
    analyzer.dispose();
  }
  fitData?.dispose();

  const [h, w, c] = shape.length === 3 ? shape : [1, size, 1];
  const rows: Tile[][] = sources.map((_, i) => [
    imageTile(data.subarray(i * size, (i + 1) * size), h, w, c),
    ...names.map((n) => heatmapTile(relevances[n].subarray(i * size, (i + 1) * size), h, w, c)),
  ]);
  fs.mkdirSync(flags.out, { recursive: true });
  const pngFile = path.join(flags.out, 'explain.png');
  writeAtomic(pngFile, gridPng(rows, {
    scale,
    columnLabels: ['input', ...names.map((n) => columnLabel(n, flags.composite))],
    rowLabels: sources.map((s, i) => rowLabel(s, labels[i], predicted[i])),
  }));
  const json = {
    model: flags.model,
    inputShape: shape,
    columns: ['input', ...names],
    ...(names.includes('lrp') ? { composite: flags.composite ?? 'epsilon-plus' } : {}),
    neuronSelection: neuron,
    examples: sources.map((source, i) => ({
      source,
      label: labels[i],
      predicted: predicted[i],
      // The output the relevances explain; null for --neuron all (the sum of every output).
      explained: explained ? explained[i] : null,
      scores: scores[i],
      relevances: Object.fromEntries(names.map((n) => [n, Array.from(relevances[n].subarray(i * size, (i + 1) * size))])),
    })),
  };
  const jsonFile = path.join(flags.out, 'relevances.json');
  writeAtomic(jsonFile, JSON.stringify(json));
  x.dispose();
  process.stdout.write(`columns: input, ${names.join(', ')}\n`);
  sources.forEach((s, i) => process.stdout.write(`row ${i}: ${s}${labels[i] !== null ? ` label ${labels[i]}` : ''} predicted ${predicted[i]}\n`));
  process.stdout.write(`wrote ${pngFile} and ${jsonFile}\n`);
}

export function register(program: Command): void {
  program.command('explain')
    .description('attribution heatmaps (iNNvestigate analyzers: gradient family, LRP, DeepTaylor, PatternNet) for a saved model')
    .option('--list', 'list every analyzer with its options and exit')
    .option('--model <path>', 'model.json of a tfjs layers model (or its folder)')
    .option('--input <png>', 'explain one PNG image (converted to the model input shape, pixels scaled to [0, 1])')
    .option('--dataset <name>', 'explain examples of a registered dataset (e.g. mnist)')
    .option('--index <spec>', 'dataset examples: N, A..B (inclusive) or a comma list', '0')
    .option('--analyzer <names>', `comma-separated analyzer names (see --list; default ${DEFAULT_ANALYZERS}, or lrp with --composite)`)
    .option('--composite <name>', `LRP composite of the lrp analyzer (Zennit style; default epsilon-plus): ${
      listComposites().map((c) => c.name).join(', ')}`)
    .option('--param <key=value>', 'analyzer option, repeatable; goes to every chosen analyzer that has it ' +
      '(deep_taylor.bounded defaults to low=0 high=1)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .addOption(new Option('--neuron <mode>', 'output to explain').choices([...NEURON_SELECTIONS]).default('max_activation'))
    .option('--target <class>', 'output index for --neuron index')
    .option('--strip-softmax', 'analyze the logits of a model that ends in softmax (otherwise it is refused)')
    .option('--fit-dataset <name>', 'training data for pattern.net / pattern.attribution (default: --dataset)')
    .option('--fit-samples <n>', 'examples used to fit patterns', '2000')
    .option('--scale <n>', 'pixel magnification in the PNG grid', '4')
    .option('--out <dir>', 'output folder for explain.png and relevances.json', 'kiln-out/explain')
    .addOption(backendOption())
    .action(async (flags: ExplainFlags) => run(flags));
}
