import { check, createRegistry } from '../core/index.js';

/** Learning rate as a function of the global step (0-based). */
export type Schedule = (step: number) => number;

export interface ScheduleOptions {
  /** Peak (base) learning rate. */
  lr: number;
  totalSteps: number;
  /** Steps of linear warm-up from lr / warmupSteps to lr (warmup schedules only). */
  warmupSteps: number;
  /** Floor that cosine decay ends at. */
  minLr: number;
}

export type ScheduleFactory = (o: ScheduleOptions) => Schedule;

export const schedules = createRegistry<ScheduleFactory>('learning-rate schedule');

const cosine = (o: ScheduleOptions, from: number): Schedule => (step) => {
  const span = Math.max(1, o.totalSteps - from);
  const t = Math.min(1, Math.max(0, (step - from) / span));
  return o.minLr + (o.lr - o.minLr) * 0.5 * (1 + Math.cos(Math.PI * t));
};

const warmup = (o: ScheduleOptions, after: Schedule): Schedule => (step) =>
  step < o.warmupSteps ? (o.lr * (step + 1)) / o.warmupSteps : after(step);

schedules.register('constant', (o) => () => o.lr, 'the base rate throughout');
schedules.register('cosine', (o) => cosine(o, 0), 'half-cosine decay from lr to min-lr over all steps');
schedules.register('warmup', (o) => warmup(o, () => o.lr), 'linear warm-up, then constant');
schedules.register('warmup-cosine', (o) => warmup(o, cosine(o, o.warmupSteps)), 'linear warm-up, then cosine decay');

export function createSchedule(name: string, o: ScheduleOptions): Schedule {
  const factory = schedules.get(name);
  check(o.lr > 0 && Number.isFinite(o.lr), `learning rate must be a positive number (got ${o.lr})`);
  check(o.minLr >= 0 && o.minLr <= o.lr, `min learning rate must be in [0, lr] (got ${o.minLr})`);
  return factory(o);
}
