import { Command, Option } from 'commander';
import { backendOption, keyValueFlags, num } from '../flags.js';
import { check } from '../../core/index.js';
import { initBackend } from '../../backend/index.js';
import {
  DEFAULT_ANALYZERS, explainExamples, listAnalyzers, listComposites, NEURON_SELECTIONS,
  type AnalyzerInfo, type ExplainJob, type NeuronSelection,
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

async function run(flags: ExplainFlags): Promise<void> {
  if (flags.list) {
    process.stdout.write(formatList(listAnalyzers()) + '\n');
    return;
  }
  check(flags.model, 'kiln explain needs --model DIR/model.json (or --list)');
  check(Boolean(flags.input) !== Boolean(flags.dataset), 'give exactly one of --input image.png and --dataset NAME');
  const job: ExplainJob = {
    model: flags.model, input: flags.input, dataset: flags.dataset, index: flags.index,
    analyzers: flags.analyzer === undefined ? undefined : flags.analyzer.split(',').map((s) => s.trim()).filter(Boolean),
    composite: flags.composite, params: keyValueFlags(flags.param, '--param'),
    neuron: flags.neuron as NeuronSelection,
    target: flags.target === undefined ? undefined : num(flags.target, '--target', { int: true, min: 0 }),
    stripSoftmax: flags.stripSoftmax === true, fitDataset: flags.fitDataset,
    fitSamples: num(flags.fitSamples, '--fit-samples', { int: true, min: 1 }),
    scale: num(flags.scale, '--scale', { int: true, min: 1, max: 32 }),
    out: flags.out,
  };
  check(job.neuron !== 'index' || job.target !== undefined, '--neuron index needs --target CLASS');
  await initBackend(flags.backend);
  const result = await explainExamples(job);
  process.stdout.write(`columns: ${result.columns.join(', ')}\n`);
  result.rows.forEach((r, i) => process.stdout.write(`row ${i}: ${r.source}${r.label !== null ? ` label ${r.label}` : ''} predicted ${r.predicted}\n`));
  process.stdout.write(`wrote ${result.png} and ${result.json}\n`);
}

export function register(program: Command): void {
  program.command('explain')
    .description('attribution heatmaps (iNNvestigate analyzers: gradient family, LRP, DeepTaylor, PatternNet) for a saved model')
    .option('--list', 'list every analyzer with its options and exit')
    .option('--model <path>', 'model.json of a tfjs layers model (or its folder)')
    .option('--input <png>', 'explain one PNG image (converted to the model input shape, pixels scaled to [0, 1])')
    .option('--dataset <name>', 'explain examples of a registered dataset (e.g. mnist)')
    .option('--index <spec>', 'dataset examples: N, A..B (inclusive) or a comma list', '0')
    .option('--analyzer <names>', `comma-separated analyzer names (see --list; default ${DEFAULT_ANALYZERS.join(',')}, or lrp with --composite)`)
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
