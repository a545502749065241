import { createRng, type OptionSpec, type Rng } from '../../core/index.js';
import type { Architecture, SearchSpace } from '../space/index.js';
import { coveredProposer } from './coverage.js';
import { checkOptionNames, checkState, intOption, type Controller, type ControllerContext } from './types.js';

interface Scored {
  values: number[];
  score: number;
}

export interface LocalSearchState {
  rng: number;
  /** Every proposal, in order: never proposed again while the study can evaluate anything else. */
  proposed: number[][];
  /** Every told result, in order (-Infinity, stored as null by JSON, when infeasible). */
  observed: Scored[];
  /** Where in `observed` the current start (the initial sample or a restart) began. */
  start: number;
  /** Random proposals left in the current start. */
  startLeft: number;
  /** The cell being climbed from, and its neighbours not yet tried (null while starting). */
  current: Scored | null;
  queue: number[][];
  /** Two-decision neighbours the current local optimum may still try before a restart. */
  escapeLeft: number;
}

export const LOCAL_SEARCH_OPTIONS: readonly OptionSpec[] = [
  { name: 'init', type: 'integer', default: 10, min: 1, description: 'random architectures before the first climb, which starts from their best' },
];

/** Random draws a fresh start gets before it picks among the study's candidates instead. */
const FRESH_TRIES = 1000;

/** Every valid architecture one decision away from `a`. */
export function oneDecisionNeighbours(space: SearchSpace, a: Architecture): number[][] {
  const out: number[][] = [];
  space.decisions.forEach((d, i) => {
    for (let c = 0; c < d.choices.length; c++) {
      if (c === a.values[i]) continue;
      const values = [...a.values];
      values[i] = c;
      if (space.isValid({ values })) out.push(values);
    }
  });
  return out;
}

/** Every valid architecture exactly two decisions away from `a`. */
export function twoDecisionNeighbours(space: SearchSpace, a: Architecture): number[][] {
  const out: number[][] = [];
  const n = space.decisions.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      for (let ci = 0; ci < space.decisions[i].choices.length; ci++) {
        if (ci === a.values[i]) continue;
        for (let cj = 0; cj < space.decisions[j].choices.length; cj++) {
          if (cj === a.values[j]) continue;
          const values = [...a.values];
          values[i] = ci;
          values[j] = cj;
          if (space.isValid({ values })) out.push(values);
        }
      }
    }
  }
  return out;
}

/**
 * How a climb picks its next neighbour: the index into `queue` (the untried neighbours in a
 * seeded random order) to try next; the plain climber takes the first.
 */
export type NeighbourChoice = (queue: readonly number[][]) => number;

export interface ClimberHooks {
  /** Defaults to the queue's order. */
  choose?: NeighbourChoice;
  /** Called with each told result and after a restore (with every result), so a model can follow. */
  learn?: (observed: readonly Scored[], from: number) => void;
  /**
   * Two-decision neighbours a local optimum tries (in `choose` order) before the climb restarts;
   * a later climb that ends there goes on with the untried rest. Default 0: restart at once.
   */
  escape?: number;
}

/**
 * First-improvement hill climbing over one-decision neighbours (White et al. 2020, "Local search
 * is state of the art for NAS benchmarks"): evaluate `init` random architectures, climb from the
 * best, trying its neighbours in a seeded random order and moving to the first better one; at a
 * local optimum (no untried neighbour is better) restart from one new random architecture.
 * Never proposes an architecture twice: a neighbour told before (met in another climb) that scored
 * better is stepped to without a proposal. Neighbours the study cannot evaluate or that break its
 * constraints (`ctx.feasible`) are skipped unproposed: they could not be better, and skipping them
 * costs nothing. Random starts follow the study's coverage like random search does.
 */
export function localSearchController(ctx: ControllerContext): Controller {
  checkOptionNames('local-search', ctx.options, LOCAL_SEARCH_OPTIONS.map((o) => o.name));
  return hillClimber('local-search', ctx, intOption(ctx.options, 'init', 10, 1), {});
}

/** The climber behind `local-search` and its guided variants; `hooks` change the order, not the walk. */
export function hillClimber(name: string, ctx: ControllerContext, init: number, hooks: ClimberHooks): Controller {
  const { space, seed } = ctx;
  const rng: Rng = createRng(seed);
  const propose = coveredProposer(ctx);
  const key = (values: readonly number[]) => space.key({ values });
  const evaluable = (a: Architecture) => (ctx.feasible ?? ctx.covered)?.(a) ?? true;
  const escape = hooks.escape ?? 0;
  const choose = hooks.choose ?? (() => 0);
  let s: LocalSearchState = { rng: 0, proposed: [], observed: [], start: 0, startLeft: init, current: null, queue: [], escapeLeft: 0 };
  let proposedKeys = new Set<string>();
  /** The best told score of each architecture, by key. */
  let scores = new Map<string, number>();
  const remember = (o: Scored) => scores.set(key(o.values), Math.max(o.score, scores.get(key(o.values)) ?? -Infinity));
  const fresh = (a: Architecture) => !proposedKeys.has(key(a.values)) && evaluable(a);

  /** A random architecture not proposed before, drawn as random search would (conditioned on coverage). */
  const drawFresh = (): Architecture => {
    let sparse = false;
    const fromPool = (pool: readonly Architecture[]) => {
      sparse = true;
      const left = pool.filter(fresh);
      return rng.pick(left.length ? left : pool);
    };
    for (let t = 0; t < FRESH_TRIES; t++) {
      const a = propose(() => space.sample(rng), fromPool);
      if (sparse || fresh(a)) return a;
    }
    const left = (ctx.candidates ?? []).filter((a) => space.isValid(a) && fresh(a));
    // Everything drawn was proposed before: with no candidate list, a repeat is all that is left.
    return left.length ? rng.pick(left) : propose(() => space.sample(rng), (pool) => rng.pick(pool));
  };
  const emit = (a: Architecture): Architecture => {
    const values = [...a.values];
    s.proposed.push(values);
    proposedKeys.add(key(values));
    return { values };
  };
  const climbFrom = (c: Scored) => {
    s.current = { values: [...c.values], score: c.score };
    s.queue = rng.shuffle(oneDecisionNeighbours(space, c));
    s.escapeLeft = escape;
  };
  /**
   * Takes cells from `queue` (in `choose` order) until a fresh one, which it returns; a told cell
   * that scored better than the current one is stepped to for free instead (null then, as when the
   * queue runs out).
   */
  const nextFrom = (queue: number[][]): number[] | null => {
    while (queue.length) {
      const [values] = queue.splice(choose(queue), 1);
      if (fresh({ values })) return values;
      // Told before (another climb's neighbour): a known better cell is a free step.
      const known = scores.get(key(values));
      if (known !== undefined && known > s.current!.score) {
        climbFrom({ values, score: known });
        return null;
      }
    }
    return null;
  };

  return {
    name,
    ask(): Architecture {
      if (s.current === null) {
        if (s.startLeft > 0) {
          s.startLeft--;
          return emit(drawFresh());
        }
        let best: Scored | undefined;
        for (const o of s.observed.slice(s.start)) if (Number.isFinite(o.score) && (!best || o.score > best.score)) best = o;
        // No feasible result yet: keep drawing until the start has one.
        if (!best) return emit(drawFresh());
        climbFrom(best);
      }
      for (;;) {
        const step = nextFrom(s.queue);
        if (step) return emit({ values: step });
        if (s.queue.length) continue; // a free step: climb on from there
        // A local optimum among one-decision neighbours: try some two decisions away before restarting.
        if (s.escapeLeft <= 0) break;
        const at = s.current!;
        // Listed afresh at each try: cells proposed before are skipped, so nothing is kept between visits.
        const jump = nextFrom(rng.shuffle(twoDecisionNeighbours(space, at)));
        if (jump) {
          s.escapeLeft--;
          return emit({ values: jump });
        }
        if (s.current === at) break;
      }
      // A local optimum: no untried neighbour was better.
      s.current = null;
      s.start = s.observed.length;
      s.startLeft = 0;
      return emit(drawFresh());
    },
    tell(a, r) {
      const told: Scored = { values: [...a.values], score: r.feasible ? r.score : -Infinity };
      s.observed.push(told);
      remember(told);
      hooks.learn?.(s.observed, s.observed.length - 1);
      if (s.current !== null && told.score > s.current.score) climbFrom(told);
    },
    state: (): LocalSearchState => structuredClone({ ...s, rng: rng.state() }),
    restore(st0) {
      const st = st0 as Partial<LocalSearchState>;
      checkState(name, typeof st?.rng === 'number' && Array.isArray(st.proposed) && Array.isArray(st.observed) && Array.isArray(st.queue)
        && typeof st.start === 'number' && typeof st.startLeft === 'number' && st.current !== undefined);
      rng.restore(st.rng);
      // JSON turns -Infinity (infeasible) into null.
      const scored = (o: Scored) => ({ values: [...o.values], score: o.score ?? -Infinity });
      s = {
        rng: st.rng, proposed: st.proposed.map((v) => [...v]), observed: st.observed.map(scored), start: st.start, startLeft: st.startLeft,
        current: st.current === null ? null : scored(st.current), queue: st.queue.map((v) => [...v]),
        // Snapshots from before `escape` existed lack the field: nothing was escaped then.
        escapeLeft: st.escapeLeft ?? 0,
      };
      proposedKeys = new Set(s.proposed.map(key));
      scores = new Map();
      s.observed.forEach(remember);
      hooks.learn?.(s.observed, 0);
    },
  };
}
