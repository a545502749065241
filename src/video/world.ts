/**
 * The generated world of Kiln's video stories: one or two flat objects on a plain background doing
 * one action per segment. Every story carries exact ground truth (who did what in which frames),
 * which is what makes action and object accuracy measurable.
 */
import { check, type Rng } from '../core/index.js';
import { makeFrames, type Frames } from '../media/index.js';

export const FPS = 8;
export const FRAME_SIZE = 32;

export const SHAPES = ['square', 'circle', 'triangle'] as const;
export type Shape = (typeof SHAPES)[number];

export const COLOURS: Record<string, readonly [number, number, number]> = {
  red: [225, 45, 45],
  green: [50, 200, 70],
  blue: [60, 100, 245],
  yellow: [240, 215, 40],
  white: [240, 240, 240],
};
export const COLOUR_NAMES = Object.keys(COLOURS);

export const BACKGROUNDS: Record<string, readonly [number, number, number]> = {
  black: [12, 12, 12],
  gray: [100, 100, 100],
  'dark blue': [18, 24, 80],
  'dark green': [20, 64, 28],
};
export const BACKGROUND_NAMES = Object.keys(BACKGROUNDS);

export const ACTIONS = [
  'move-left', 'move-right', 'move-up', 'move-down', 'jump', 'grow', 'shrink',
  'change-colour', 'appear', 'disappear', 'rotate',
] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * Object/action pairs that never occur in the training split; every held-out story contains at
 * least one of them, so the held-out split measures compositional generalisation.
 */
export const HELD_OUT_PAIRS: readonly (readonly [Shape, Action])[] = [
  ['circle', 'jump'],
  ['square', 'grow'],
  ['triangle', 'move-left'],
  ['circle', 'change-colour'],
  ['triangle', 'shrink'],
];

export function isHeldOut(shape: Shape, action: Action): boolean {
  return HELD_OUT_PAIRS.some(([s, a]) => s === shape && a === action);
}

export interface ObjectState {
  shape: Shape;
  colour: string;
  x: number;
  y: number;
  /** Half extent in pixels. */
  size: number;
  /** Radians. */
  angle: number;
  /** 0 = invisible, 1 = fully visible. */
  alpha: number;
}

export interface Segment {
  /** Index of the object that acts; the other one (if any) stays still. */
  actor: number;
  action: Action;
  /** For change-colour: the new colour. */
  toColour?: string;
  frames: number;
  prompt: string;
  /** Actor's shape and colour when the segment starts (what the prompt names). */
  shape: Shape;
  colour: string;
}

export interface Story {
  id: string;
  split: 'train' | 'test';
  background: string;
  objects: ObjectState[];
  segments: Segment[];
}

const MOVE = 11;
const JUMP = 9;
const MIN_SIZE = 2.5;
const MAX_SIZE = 8;

function actionText(seg: { action: Action; toColour?: string }): string {
  switch (seg.action) {
    case 'move-left': return 'moves left';
    case 'move-right': return 'moves right';
    case 'move-up': return 'moves up';
    case 'move-down': return 'moves down';
    case 'jump': return 'jumps';
    case 'grow': return 'grows';
    case 'shrink': return 'shrinks';
    case 'change-colour': return `turns ${seg.toColour}`;
    case 'appear': return 'appears';
    case 'disappear': return 'disappears';
    case 'rotate': return 'rotates';
  }
}

export function promptFor(first: boolean, colour: string, shape: Shape, action: Action, toColour?: string): string {
  return `${first ? 'a' : 'the'} ${colour} ${shape} ${actionText({ action, toColour })}`;
}

export function backgroundText(name: string): string {
  return `a ${name} background`;
}

/** Whether `action` makes sense for `o` now (stays on screen, visible when it must be, ...). */
function feasible(o: ObjectState, action: Action): boolean {
  const visible = o.alpha > 0.5;
  if (action === 'appear') return !visible;
  if (!visible) return false;
  const lo = o.size + 1;
  const hi = FRAME_SIZE - o.size - 1;
  switch (action) {
    case 'move-left': return o.x - MOVE >= lo;
    case 'move-right': return o.x + MOVE <= hi;
    case 'move-up': return o.y - MOVE >= lo;
    case 'move-down': return o.y + MOVE <= hi;
    case 'jump': return o.y - JUMP >= lo;
    case 'grow': return o.size * 1.6 <= MAX_SIZE && o.x - o.size * 1.6 >= 0 && o.x + o.size * 1.6 <= FRAME_SIZE &&
      o.y - o.size * 1.6 >= 0 && o.y + o.size * 1.6 <= FRAME_SIZE;
    case 'shrink': return o.size * 0.6 >= MIN_SIZE;
    case 'rotate': return o.shape !== 'circle';
    default: return true;
  }
}

/** The actor's state `t` of the way (0..1) through a segment. */
export function stateAt(start: ObjectState, seg: Pick<Segment, 'action' | 'toColour'>, t: number): ObjectState & { blendTo?: string; blend?: number } {
  const s = { ...start };
  switch (seg.action) {
    case 'move-left': s.x -= MOVE * t; break;
    case 'move-right': s.x += MOVE * t; break;
    case 'move-up': s.y -= MOVE * t; break;
    case 'move-down': s.y += MOVE * t; break;
    case 'jump': s.y -= JUMP * 4 * t * (1 - t); break;
    case 'grow': s.size *= 1 + 0.6 * t; break;
    case 'shrink': s.size *= 1 - 0.4 * t; break;
    case 'rotate': s.angle += (Math.PI / 4) * t; break;
    case 'appear': s.alpha = t; break;
    case 'disappear': s.alpha = 1 - t; break;
    case 'change-colour': return { ...s, blendTo: seg.toColour, blend: t };
  }
  return s;
}

function endState(start: ObjectState, seg: Pick<Segment, 'action' | 'toColour'>): ObjectState {
  const s = stateAt(start, seg, 1);
  const { blendTo, blend, ...rest } = s;
  void blend;
  return blendTo ? { ...rest, colour: blendTo } : rest;
}

export interface StoryOptions {
  split: 'train' | 'test';
  /** Force the number of segments (1..8; unforced stories have 1..4, as in the datasets). */
  segments?: number;
}

function randomObject(rng: Rng, taken: ObjectState[]): ObjectState {
  for (;;) {
    const o: ObjectState = {
      shape: rng.pick(SHAPES),
      colour: rng.pick(COLOUR_NAMES),
      x: 8 + rng.next() * 16,
      y: 9 + rng.next() * 16,
      size: 3.5 + rng.next() * 1.5,
      angle: 0,
      alpha: 1,
    };
    if (taken.every((p) => (p.shape !== o.shape || p.colour !== o.colour) && Math.hypot(p.x - o.x, p.y - o.y) > 10)) return o;
  }
}

/**
 * Samples one story. Training stories never contain a held-out pair; a held-out story has one at a
 * random segment (others are unconstrained).
 */
export function sampleStory(rng: Rng, id: string, opts: StoryOptions): Story {
  for (;;) {
    const story = trySample(rng, id, opts);
    if (story) return story;
  }
}

function trySample(rng: Rng, id: string, opts: StoryOptions): Story | null {
  const nObjects = rng.next() < 0.35 ? 2 : 1;
  const objects: ObjectState[] = [];
  for (let i = 0; i < nObjects; i++) objects.push(randomObject(rng, objects));
  // Some stories start with an invisible object that then appears.
  if (rng.next() < 0.15) objects[0].alpha = 0;
  const nSeg = opts.segments ?? 1 + rng.int(4);
  check(Number.isInteger(nSeg) && nSeg >= 1 && nSeg <= 8, `a story has 1 to 8 segments (got ${nSeg})`);
  const forced = opts.split === 'test' ? rng.int(nSeg) : -1;
  const state = objects.map((o) => ({ ...o }));
  const mentioned = new Set<number>();
  const segments: Segment[] = [];
  for (let k = 0; k < nSeg; k++) {
    const actor = state[0].alpha < 0.5 && k === 0 ? 0 : rng.int(nObjects);
    const o = state[actor];
    let options = ACTIONS.filter((a) => feasible(o, a));
    if (k === forced) options = options.filter((a) => isHeldOut(o.shape, a));
    else if (opts.split === 'train') options = options.filter((a) => !isHeldOut(o.shape, a));
    if (options.length === 0) return null;
    const action = rng.pick(options);
    const toColour = action === 'change-colour' ? rng.pick(COLOUR_NAMES.filter((c) => c !== o.colour)) : undefined;
    const frames = rng.pick([8, 12, 16]);
    const prompt = promptFor(!mentioned.has(actor), o.colour, o.shape, action, toColour);
    mentioned.add(actor);
    segments.push({ actor, action, toColour, frames, prompt, shape: o.shape, colour: o.colour });
    state[actor] = endState(o, { action, toColour });
  }
  return { id, split: opts.split, background: rng.pick(BACKGROUND_NAMES), objects, segments };
}

/** A captioned still image: one object on a background, as image-text training data (Phenaki). */
export interface Still {
  frame: Frames;
  /** "a COLOUR SHAPE": what the image shows, with no action. */
  caption: string;
  background: string;
}

/** Samples one still of a single visible object placed and sized as a story's opening frame. */
export function sampleStill(rng: Rng): Still {
  const o = randomObject(rng, []);
  const background = rng.pick(BACKGROUND_NAMES);
  const frame = makeFrames(1, FRAME_SIZE, FRAME_SIZE);
  drawFrame(frame, 0, BACKGROUNDS[background], [o]);
  return { frame, caption: `a ${o.colour} ${o.shape}`, background };
}

/** Exact [start, end) frame range of each segment. */
export function segmentRanges(story: Pick<Story, 'segments'>): [number, number][] {
  const out: [number, number][] = [];
  let at = 0;
  for (const s of story.segments) {
    out.push([at, at + s.frames]);
    at += s.frames;
  }
  return out;
}

export function storyFrames(story: Pick<Story, 'segments'>): number {
  return story.segments.reduce((n, s) => n + s.frames, 0);
}

/** Whether offset (dx, dy) from an object's centre falls inside its shape of half extent `size` turned by `angle`. */
export function insideShape(shape: Shape, dx: number, dy: number, size: number, angle: number): boolean {
  const c = Math.cos(-angle);
  const s = Math.sin(-angle);
  const u = dx * c - dy * s;
  const v = dx * s + dy * c;
  switch (shape) {
    case 'circle': return u * u + v * v <= size * size;
    case 'square': return Math.abs(u) <= size * 0.9 && Math.abs(v) <= size * 0.9;
    case 'triangle': {
      // Upward isosceles triangle inscribed in the size box.
      if (v > size * 0.85 || v < -size) return false;
      const half = ((v + size) / (1.85 * size)) * size;
      return Math.abs(u) <= half;
    }
  }
}

function mix(a: readonly number[], b: readonly number[], t: number): number[] {
  return a.map((x, i) => x * (1 - t) + b[i] * t);
}

/** Draws objects (with 2x2 supersampling for soft edges) into one frame of `video`. */
function drawFrame(video: Frames, f: number, bg: readonly number[], objs: (ObjectState & { blendTo?: string; blend?: number })[]): void {
  const { w: W, h: H, data } = video;
  const base = f * H * W * 3;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let px = [...bg];
      for (const o of objs) {
        if (o.alpha <= 0) continue;
        let cover = 0;
        for (const sy of [0.25, 0.75]) {
          for (const sx of [0.25, 0.75]) {
            if (insideShape(o.shape, x + sx - o.x, y + sy - o.y, o.size, o.angle)) cover++;
          }
        }
        if (cover === 0) continue;
        const colour = o.blendTo ? mix(COLOURS[o.colour], COLOURS[o.blendTo], o.blend ?? 0) : COLOURS[o.colour];
        px = mix(px, colour, (cover / 4) * o.alpha);
      }
      const i = base + (y * W + x) * 3;
      data[i] = Math.round(px[0]);
      data[i + 1] = Math.round(px[1]);
      data[i + 2] = Math.round(px[2]);
    }
  }
}

export function renderStory(story: Story): Frames {
  const T = storyFrames(story);
  const video = makeFrames(T, FRAME_SIZE, FRAME_SIZE);
  const bg = BACKGROUNDS[story.background];
  const state = story.objects.map((o) => ({ ...o }));
  let f = 0;
  for (const seg of story.segments) {
    for (let i = 0; i < seg.frames; i++, f++) {
      // The last frame of a segment reaches the end state, so consecutive segments join smoothly.
      const t = seg.frames === 1 ? 1 : (i + 1) / seg.frames;
      const objs = state.map((o, j) => (j === seg.actor ? stateAt(o, seg, t) : o));
      drawFrame(video, f, bg, objs);
    }
    state[seg.actor] = endState(state[seg.actor], seg);
  }
  return video;
}
