import fs from 'node:fs';
import path from 'node:path';
import { KilnError, check, checkOutputDir } from '../core/index.js';
import { ensureBackend, tf } from '../backend/index.js';
import { loadDataset, numExamples, exampleSize, standardize, type Dataset, type Standardizer } from '../data/index.js';
import { loadModel, writeAtomic } from '../nn/index.js';
import { createAnalyzer, listAnalyzers, type AnalyzerInfo, type NeuronSelection } from './analyzers.js';
import { composites } from './composites.js';
import { gridPng, heatmapTile, imageTile, readPngInput, type Tile } from './heatmap.js';
import type { OptionValue } from '../core/index.js';

/** What `kiln explain` does: explain a saved model's decisions on dataset examples or one PNG. */
export interface ExplainJob {
  /** model.json of a tfjs layers model, or its folder. */
  model: string;
  /** Exactly one of a PNG image and a registered dataset. */
  input?: string;
  dataset?: string;
  /** Dataset examples: 'N', 'A..B' (inclusive) or 'i,j,k'. Default '0'. */
  index?: string;
  /** Analyzer names (listAnalyzers()); default gradient, integrated_gradients, lrp.epsilon, or lrp alone with a composite. */
  analyzers?: string[];
  /** Composite of the `lrp` analyzer (listComposites()). */
  composite?: string;
  /** Analyzer options; each goes to every chosen analyzer that declares it. */
  params?: Record<string, OptionValue>;
  neuron?: NeuronSelection;
  /** Output index for neuron 'index'. */
  target?: number;
  stripSoftmax?: boolean;
  /** Training data for fitted analyzers (PatternNet); default `dataset`. */
  fitDataset?: string;
  fitSamples?: number;
  /** Pixel magnification of the PNG grid. */
  scale?: number;
  /** Folder for explain.png and relevances.json. */
  out: string;
}

export interface ExplainRun {
  columns: string[];
  rows: { source: string; label: number | null; predicted: number; explained: number | null }[];
  png: string;
  json: string;
}

export const DEFAULT_ANALYZERS = ['gradient', 'integrated_gradients', 'lrp.epsilon'];

/** 'N', 'A..B' (inclusive) or 'i,j,k', each an index in [0, count). */
export function parseIndices(spec: string, count: number): number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(spec.trim());
  const parts = range ? [] : spec.split(',').map((s) => s.trim());
  const out = range
    ? Array.from({ length: Math.max(0, Number(range[2]) - Number(range[1]) + 1) }, (_, i) => Number(range[1]) + i)
    : parts.every((p) => /^\d+$/.test(p)) ? parts.map(Number) : [NaN];
  check(out.length > 0 && out.every((i) => Number.isInteger(i) && i >= 0 && i < count),
    `index must be N, A..B or a comma list of example indices in [0, ${count}) (got '${spec}')`);
  return out;
}

/** The options an analyzer receives: the params it declares, plus [0, 1] pixel bounds for deep_taylor.bounded. */
function optionsFor(info: AnalyzerInfo, params: Record<string, OptionValue>): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const o of info.options) if (params[o.name] !== undefined) out[o.name] = params[o.name];
  if (info.name === 'deep_taylor.bounded') {
    out.low ??= 0;
    out.high ??= 1;
  }
  return out;
}

/** Checks the analyzer names, composite and params against the registries before any work. */
function resolveAnalyzers(job: ExplainJob): AnalyzerInfo[] {
  const names = job.analyzers ?? (job.composite !== undefined ? ['lrp'] : DEFAULT_ANALYZERS);
  check(names.length > 0, 'explain needs at least one analyzer name (see kiln explain --list)');
  const infos = new Map(listAnalyzers().map((a) => [a.name, a]));
  for (const n of names) check(infos.has(n), `unknown analyzer '${n}' (known: ${[...infos.keys()].join(', ')})`);
  if (job.composite !== undefined) {
    composites.get(job.composite); // the registry's own message: "unknown composite 'x' (known: ...)"
    check(names.includes('lrp'), `a composite chooses the rules of the lrp analyzer: add lrp to the analyzers (got ${names.join(',')})`);
  }
  for (const key of Object.keys(job.params ?? {})) {
    check(names.some((n) => infos.get(n)!.options.some((o) => o.name === key)), `option ${key}: none of the chosen analyzers has it`);
  }
  return names.map((n) => infos.get(n)!);
}

function examples(ds: Dataset, indices: number[]): Float32Array {
  const size = exampleSize(ds);
  const out = new Float32Array(indices.length * size);
  indices.forEach((i, k) => out.set(ds.x.subarray(i * size, (i + 1) * size), k * size));
  return out;
}

const columnLabel = (name: string, composite: string | undefined): string => (name === 'lrp' ? `lrp ${composite ?? 'epsilon-plus'}` : name);

const rowLabel = (source: string, label: number | null, predicted: number): string =>
  [source, ...(label !== null ? [`true ${label}`] : []), `pred ${predicted}`].join('\n');

/**
 * Runs each analyzer on the chosen examples and writes `explain.png` (a grid: the input, then one
 * heatmap per analyzer, with column and row labels) and `relevances.json` (scores, the explained
 * output and every relevance) into `out`. Tabular data is standardized as the model was trained.
 */
export async function explainExamples(job: ExplainJob): Promise<ExplainRun> {
  check(Boolean(job.input) !== Boolean(job.dataset), 'give exactly one of an input PNG and a dataset');
  const infos = resolveAnalyzers(job);
  const neuron = job.neuron ?? 'max_activation';
  check(neuron !== 'index' || job.target !== undefined, "neuron selection 'index' needs a target class");
  checkOutputDir(job.out, 'output folder');
  await ensureBackend();
  const model = await loadModel(job.model);
  const x: tf.Tensor[] = [];
  try {
    const shape = model.inputs[0].shape.slice(1) as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    const outputs = model.outputs[0].shape[model.outputs[0].shape.length - 1] ?? 1;
    check(job.target === undefined || (Number.isInteger(job.target) && job.target >= 0 && job.target < outputs),
      `target class must be an integer in [0, ${outputs}) (got ${job.target})`);

    // A model trained by `kiln train` on tabular data saw standardized features: explain it on the same.
    const standardizer = (model.getUserDefinedMetadata() as { kiln?: { standardizer?: Standardizer | null } } | undefined)?.kiln?.standardizer;
    const load = (name: string): Dataset => {
      const ds = loadDataset(name);
      return standardizer && ds.shape.length === 1 ? standardize(ds, standardizer) : ds;
    };
    let data: Float32Array;
    let sources: string[];
    let labels: (number | null)[];
    const dataset = job.dataset ? load(job.dataset) : null;
    if (dataset) {
      check(exampleSize(dataset) === size, `dataset ${dataset.name} has examples of shape [${dataset.shape}], the model takes [${shape}]`);
      const indices = parseIndices(job.index ?? '0', numExamples(dataset));
      data = examples(dataset, indices);
      sources = indices.map((i) => `${dataset.name}[${i}]`);
      labels = indices.map((i) => dataset.y[i]);
    } else {
      data = readPngInput(job.input!, shape);
      sources = [job.input!];
      labels = [null];
    }
    x.push(tf.tensor(data, [sources.length, ...shape]));
    const scores = tf.tidy(() => (model.predict(x[0]) as tf.Tensor).arraySync() as number[][]);
    const predicted = scores.map((row) => row.indexOf(Math.max(...row)));

    const fitName = job.fitDataset ?? job.dataset;
    const relevances: Record<string, Float32Array> = {};
    let explained: number[] | null = null;
    for (const info of infos) {
      const composite = info.name === 'lrp' && job.composite !== undefined ? { composite: job.composite } : {};
      const analyzer = createAnalyzer(info.name, model, { ...optionsFor(info, job.params ?? {}), ...composite, stripSoftmax: job.stripSoftmax === true });
      try {
        if (analyzer.fit) {
          if (x.length < 2) {
            if (!fitName) throw new KilnError(`analyzer '${info.name}' is fitted on training data: give a fit dataset`);
            const fitSet = dataset && fitName === job.dataset ? dataset : load(fitName);
            check(exampleSize(fitSet) === size, `fit dataset ${fitSet.name} does not match the model's input [${shape}]`);
            const count = Math.min(job.fitSamples ?? 2000, numExamples(fitSet));
            // Every k-th example, so all classes are represented in the fitting sample.
            const step = numExamples(fitSet) / count;
            x.push(tf.tensor(examples(fitSet, Array.from({ length: count }, (_, i) => Math.floor(i * step))), [count, ...shape]));
          }
          analyzer.fit(x[1]);
        }
        const { relevance, neuron: which } = analyzer.explain(x[0], { neuronSelection: neuron, index: job.target });
        relevances[info.name] = relevance.dataSync() as Float32Array;
        explained = which;
        relevance.dispose();
      } finally {
        analyzer.dispose();
      }
    }

    const names = infos.map((i) => i.name);
    const [h, w, c] = shape.length === 3 ? shape : [1, size, 1];
    const rows: Tile[][] = sources.map((_, i) => [
      imageTile(data.subarray(i * size, (i + 1) * size), h, w, c),
      ...names.map((n) => heatmapTile(relevances[n].subarray(i * size, (i + 1) * size), h, w, c)),
    ]);
    fs.mkdirSync(job.out, { recursive: true });
    const png = path.join(job.out, 'explain.png');
    writeAtomic(png, gridPng(rows, {
      scale: job.scale ?? 4,
      columnLabels: ['input', ...names.map((n) => columnLabel(n, job.composite))],
      rowLabels: sources.map((s, i) => rowLabel(s, labels[i], predicted[i])),
    }));
    const rowsOut = sources.map((source, i) => ({ source, label: labels[i], predicted: predicted[i], explained: explained ? explained[i] : null }));
    const json = path.join(job.out, 'relevances.json');
    writeAtomic(json, JSON.stringify({
      model: job.model,
      inputShape: shape,
      columns: ['input', ...names],
      ...(names.includes('lrp') ? { composite: job.composite ?? 'epsilon-plus' } : {}),
      neuronSelection: neuron,
      examples: rowsOut.map((r, i) => ({
        ...r,
        // The output the relevances explain; null for neuron 'all' (the sum of every output).
        scores: scores[i],
        relevances: Object.fromEntries(names.map((n) => [n, Array.from(relevances[n].subarray(i * size, (i + 1) * size))])),
      })),
    }));
    return { columns: ['input', ...names], rows: rowsOut, png, json };
  } finally {
    tf.dispose(x);
    model.dispose();
  }
}
