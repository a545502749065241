import { KilnError } from '../core/index.js';
import { tf } from '../backend/index.js';
import { setLearningRate } from './optimizers.js';
import type { Schedule } from './schedules.js';

/** One step just taken. */
export interface TrainStepEvent<B> {
  /** 0-based index of the step (the schedule's argument). */
  step: number;
  loss: number;
  /** Rate the step used; undefined without a schedule. */
  lr: number | undefined;
  /** The step's batch, still whole: tensors the loss kept in it can be read here. */
  batch: B;
}

export interface TrainStepsResult {
  /** Index of the next step (`to` unless aborted). */
  step: number;
  aborted: boolean;
}

interface TrainStepsCommon<B> {
  optimizer: tf.Optimizer;
  /** Steps `from` (default 0; a resume passes the steps already taken) up to, not including, `to`. */
  from?: number;
  to: number;
  /** The scalar to minimize on `batch`; runs under the gradient tape, so its intermediates are freed. */
  loss: (batch: B, step: number) => tf.Scalar;
  /** Frees the batch's tensors after the step, also when the step throws. */
  release?: (batch: B) => void;
  /** Variables to train (default: every trainable variable). */
  variables?: tf.Variable[];
  /** Sets the optimizer's rate before every step. */
  schedule?: Schedule;
  /** Rescales the gradients so their global L2 norm is at most this. */
  clipNorm?: number;
  /** Message for a non-finite loss, which ends the loop with a KilnError; the batch is still whole. */
  divergence?: (loss: number, step: number, batch: B) => string;
  /** Checked before every step; an abort ends the loop with `aborted: true`. */
  signal?: AbortSignal;
}

/** Options of trainSteps: the hooks may be async. */
export interface TrainStepsOptions<B> extends TrainStepsCommon<B> {
  /** Makes step `step`'s batch (and draws its random numbers), in step order. */
  batch: (step: number) => B | Promise<B>;
  onStep?: (e: TrainStepEvent<B>) => void | Promise<void>;
  /** Called after step k when k (steps done) is a multiple of `every`, and after the last step. */
  checkpoint?: { every: number; save: (done: number) => void | Promise<void> };
}

/** Options of trainStepsSync: the same, with hooks that return at once. */
export interface TrainStepsSyncOptions<B> extends TrainStepsCommon<B> {
  batch: (step: number) => B;
  onStep?: (e: TrainStepEvent<B>) => void;
  checkpoint?: { every: number; save: (done: number) => void };
}

const defaultDivergence = (loss: number, step: number): string =>
  `training diverged (loss ${loss}) at step ${step + 1}: lower the learning rate`;

/** Gradients scaled by min(1, clipNorm / global norm), as tf.clip_by_global_norm does. */
function clipByGlobalNorm(grads: tf.NamedTensorMap, clipNorm: number): tf.NamedTensorMap {
  return tf.tidy(() => {
    const names = Object.keys(grads);
    const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n])))));
    const scale = tf.div(clipNorm, tf.maximum(norm, clipNorm));
    return Object.fromEntries(names.map((n) => [n, tf.mul(grads[n], scale)]));
  });
}

/** One optimizer step on `f`; returns the loss tensor (the caller disposes it). */
function applyStep(optimizer: tf.Optimizer, f: () => tf.Scalar, variables: tf.Variable[] | undefined, clipNorm: number | undefined): tf.Scalar {
  if (clipNorm === undefined) return optimizer.minimize(f, true, variables)!;
  const { value, grads } = optimizer.computeGradients(f, variables);
  const clipped = clipByGlobalNorm(grads, clipNorm);
  optimizer.applyGradients(variables ? variables.map((v) => ({ name: v.name, tensor: clipped[v.name] })) : clipped);
  tf.dispose([grads, clipped]);
  return value;
}

/**
 * What the loop asks of its driver: a hook's result to take (sync) or await (async), the loss
 * to read, or a turn of the event loop. One loop body serves both drivers.
 */
type Need = { kind: 'value'; value: unknown } | { kind: 'loss'; tensor: tf.Scalar } | { kind: 'turn' };

function* stepLoop<B>(o: TrainStepsOptions<B>): Generator<Need, TrainStepsResult, unknown> {
  const from = o.from ?? 0;
  for (let step = from; step < o.to; step++) {
    // On cpu and wasm every await in a step resolves as a microtask: without a turn of the event
    // loop, signal handlers and timers (a Ctrl-C, an abort timer) could not run until the loop ends.
    yield { kind: 'turn' };
    if (o.signal?.aborted) return { step, aborted: true };
    const batch = (yield { kind: 'value', value: o.batch(step) }) as B;
    try {
      const lr = o.schedule?.(step);
      if (lr !== undefined) setLearningRate(o.optimizer, lr);
      const lossT = applyStep(o.optimizer, () => o.loss(batch, step), o.variables, o.clipNorm);
      let loss: number;
      try {
        loss = (yield { kind: 'loss', tensor: lossT }) as number;
      } finally {
        lossT.dispose();
      }
      if (!Number.isFinite(loss)) throw new KilnError((o.divergence ?? defaultDivergence)(loss, step, batch));
      yield { kind: 'value', value: o.onStep?.({ step, loss, lr, batch }) };
    } finally {
      o.release?.(batch);
    }
    const done = step + 1;
    if (o.checkpoint && (done % o.checkpoint.every === 0 || done === o.to)) yield { kind: 'value', value: o.checkpoint.save(done) };
  }
  return { step: Math.max(from, o.to), aborted: false };
}

/**
 * Kiln's training step loop: per step it lets the event loop run (so a signal can land), checks
 * the abort signal, makes the batch, sets the scheduled rate, takes one optimizer step (with
 * optional global-norm clipping), reads the loss and stops on a non-finite one, reports the step,
 * frees the batch and saves a checkpoint when one is due. Resume by passing `from`.
 */
export async function trainSteps<B>(o: TrainStepsOptions<B>): Promise<TrainStepsResult> {
  const loop = stepLoop(o);
  let next = loop.next();
  while (!next.done) {
    const need = next.value;
    let answer: unknown;
    try {
      if (need.kind === 'turn') answer = await new Promise((resolve) => setImmediate(resolve));
      else if (need.kind === 'loss') answer = (await need.tensor.data())[0];
      else answer = await need.value;
    } catch (err) {
      next = loop.throw(err);
      continue;
    }
    next = loop.next(answer);
  }
  return next.value;
}

/**
 * trainSteps for synchronous callers (a controller's ask(), an experiment that never awaits): the
 * same loop, without turns of the event loop; a hook that returns a promise is an error.
 */
export function trainStepsSync<B>(o: TrainStepsSyncOptions<B>): TrainStepsResult {
  const loop = stepLoop(o);
  let next = loop.next();
  while (!next.done) {
    const need = next.value;
    let answer: unknown;
    try {
      if (need.kind === 'loss') answer = need.tensor.dataSync()[0];
      else if (need.kind === 'value' && need.value instanceof Promise) {
        need.value.catch(() => {});
        throw new Error('trainStepsSync: a hook returned a promise (use trainSteps)');
      } else if (need.kind === 'value') answer = need.value;
    } catch (err) {
      next = loop.throw(err);
      continue;
    }
    next = loop.next(answer);
  }
  return next.value;
}
