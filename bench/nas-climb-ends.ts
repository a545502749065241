/**
 * Where the climbs of local search and guided local search end on a NAS-Bench-201 table, and how
 * far those ends lie from the cells within 0.2 of the best: the analysis behind guided local
 * search's `escape`. Each run stops at the first cell within 0.2 of the best or after the budget.
 * Run: node dist/bench/nas-climb-ends.js [--seeds 60] [--budget 300] [--escapes 5,10,40]
 *      [--table data/nb201/nb201-imagenet16-120.csv --objective imagenet16_120_test_acc]
 * `--escapes` adds guided local search runs with those `escape` values (sensitivity).
 */
import { dataPath } from '../src/core/index.js';
import { median } from '../src/math/index.js';
import { createController, loadTable, nb201Space, oneDecisionNeighbours, type ControllerOptions, type LocalSearchState } from '../src/nas/index.js';
import { arg } from './args.js';

const SEEDS = Number(arg('--seeds', '60'));
const BUDGET = Number(arg('--budget', '300'));
const TABLE = arg('--table', dataPath('nb201', 'nb201-imagenet16-120.csv'));
const OBJECTIVE = arg('--objective', 'imagenet16_120_test_acc');
const ESCAPES = arg('--escapes', '').split(',').filter((v) => v !== '').map(Number);
const RUNS: [string, ControllerOptions][] = [
  ['local-search', {}], ['guided-local-search', { escape: 0 }], ['guided-local-search', {}],
  ...ESCAPES.map((escape): [string, ControllerOptions] => ['guided-local-search', { escape }]),
];

const table = loadTable(TABLE, nb201Space);
const acc = table.column(OBJECTIVE);
const target = +(Math.max(...acc) - 0.2).toFixed(4);
const targets = table.archs.filter((a) => acc[table.rowOf(a)] >= target);
const key = (values: readonly number[]) => nb201Space.key({ values });
const distance = (a: readonly number[], b: readonly number[]) => a.filter((v, i) => v !== b[i]).length;
const name = (values: readonly number[]) => `${key(values)} (${acc[table.rowOf({ values: [...values] })]})`;

/** The local optimum a climb ended at: from its last cell along told better neighbours, as its free steps go. */
function climbEnd(before: LocalSearchState): { end: number[]; free: boolean } {
  const told = new Map(before.observed.map((o) => [key(o.values), o.score]));
  let end = before.current!.values;
  let free = before.queue.length > 0;
  for (;;) {
    const here = told.get(key(end))!;
    const better = oneDecisionNeighbours(nb201Space, { values: end }).filter((v) => (told.get(key(v)) ?? -Infinity) > here);
    if (!better.length) return { end, free };
    end = better.reduce((x, y) => (told.get(key(y))! > told.get(key(x))! ? y : x));
    free = true;
  }
}

console.log(`${TABLE}: ${targets.length} cells >= ${target}: ${targets.map((a) => name(a.values)).join(', ')}; ${SEEDS} seeds, budget ${BUDGET}\n`);
for (const [controller, options] of RUNS) {
  const ends = new Map<string, { values: number[]; count: number }>();
  const evaluations: number[] = [];
  let climbs = 0;
  let free = 0;
  let near = 0;
  let byEscape = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const c = createController(controller, nb201Space, seed, options);
    let n = BUDGET;
    for (let k = 0; k < BUDGET; k++) {
      const before = c.state() as LocalSearchState;
      const a = c.ask();
      const after = c.state() as LocalSearchState;
      if (before.current && !after.current) {
        climbs++;
        const ended = climbEnd(before);
        if (ended.free) free++;
        if (targets.some((t) => distance(t.values, ended.end) <= 2)) near++;
        const k = key(ended.end);
        ends.set(k, { values: ended.end, count: (ends.get(k)?.count ?? 0) + 1 });
      }
      const v = acc[table.rowOf(a)];
      if (v >= target) {
        n = k + 1;
        if (after.current && distance(after.current.values, a.values) === 2) byEscape++;
        break;
      }
      c.tell(a, { score: v, feasible: true, metrics: {} });
    }
    evaluations.push(n);
  }
  const top = [...ends.values()].sort((x, y) => y.count - x.count).slice(0, 3).map((e) => `${name(e.values)} x${e.count}`);
  console.log(`${controller} ${JSON.stringify(options)}: median ${median(evaluations)} evaluations, ${evaluations.filter((x) => x >= BUDGET).length} runs at the budget, `
    + `${byEscape} reached by a two-edge escape; ${climbs} climbs ended (${free} by free steps into told cells), ${near} within two edges of a target cell; `
    + `most frequent ends: ${top.join(', ')}`);
}
