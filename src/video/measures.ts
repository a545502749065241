/**
 * Judge-free measures: what a segment clip shows, read from its pixels with fixed rules and no
 * learned model. The background is each frame's most common colour; the foreground is every pixel
 * far from it, named by the palette colour whose blend with the background explains it best
 * (objects are drawn that way, with soft edges); the acting object is the same-named foreground
 * regions that hold pixels changing during the clip, in those pixels' majority colour (a second
 * object stands still). From its track: is an object visible, which way did it move, did it grow
 * or shrink, which named colour is it. On ground truth these rules hold on about 99% of segments
 * (bench/video-measures.ts), so on generated video they say plainly whether the prompt was followed.
 */
import { toUint8, type Frames } from '../media/index.js';
import { COLOURS, COLOUR_NAMES, type Action, type Segment } from './world.js';

/** L1 RGB distance from the background above which a pixel is foreground (object colours differ by >= 200). */
const FOREGROUND = 40;
/** Foreground pixels a frame needs to show an object (a fully shrunk square covers about 20). */
export const MIN_AREA = 3;
/** Centroid travel (pixels) that counts as motion; ground truth moves 11 px per segment, 4 px in the shortest clip. */
export const MIN_TRAVEL = 1.5;
/** Area ratio, last over first frame, that counts as growing (its inverse as shrinking); truth gives >= 1.35. */
export const SIZE_RATIO = 1.2;

/** One frame of the acting object: pixel count, centroid, bounding box and the mean colour of its core. */
export interface TrackFrame {
  area: number;
  cx: number;
  cy: number;
  /** Bounding box width and height in pixels. */
  w: number;
  h: number;
  /** Largest centroid distance of an object pixel, in pixels. */
  radius: number;
  /**
   * Outline numbers from the soft coverage (anti-aliased edges count by how much they are covered):
   * fill of the soft bounding box, reach of the half-covered pixels over sqrt(area), and spread
   * (second moment over area squared). Square, circle and triangle: fill 1 (0.5 turned 45 degrees),
   * 0.79, about 0.5; reach 0.62-0.70, 0.57, 0.7-0.9; spread 0.167-0.170, 0.159-0.162, 0.19-0.2.
   */
  outline: [number, number, number];
  /** Mean RGB of the object's core (pixels at least 70% as far from the background as the farthest). */
  rgb: [number, number, number];
  /** Palette colour covering most of the object (pixels weighted by their blend), '' when no object. */
  colour: string;
  /** The farthest object pixel's L1 distance from the background (0..765). */
  contrast: number;
  /** How much of each pixel the acting object covers (its palette blend, 0 off the object), row-major H x W. */
  cover: Float32Array;
  /** All foreground pixels of the frame, acting object or not. */
  foreground: number;
}

/** Most common colour of one frame, binned to 16 levels per channel and averaged inside the bin. */
export function backgroundColour(px: Uint8Array): [number, number, number] {
  const n = px.length / 3;
  const counts = new Map<number, number>();
  let bestKey = 0;
  let best = -1;
  for (let p = 0; p < n; p++) {
    const key = ((px[p * 3] >> 4) << 8) | ((px[p * 3 + 1] >> 4) << 4) | (px[p * 3 + 2] >> 4);
    const c = (counts.get(key) ?? 0) + 1;
    counts.set(key, c);
    if (c > best) [bestKey, best] = [key, c];
  }
  const sum = [0, 0, 0];
  for (let p = 0; p < n; p++) {
    if ((((px[p * 3] >> 4) << 8) | ((px[p * 3 + 1] >> 4) << 4) | (px[p * 3 + 2] >> 4)) !== bestKey) continue;
    for (let c = 0; c < 3; c++) sum[c] += px[p * 3 + c];
  }
  return [sum[0] / best, sum[1] / best, sum[2] / best];
}

const PALETTE = COLOUR_NAMES.map((n) => COLOURS[n]);

/**
 * Per pixel: L1 distance from the frame's background, and the palette colour c (index) and blend
 * a in [0, 1] for which bg + a (c - bg) comes nearest the pixel.
 */
function readPixels(px: Uint8Array): { dist: Float32Array; label: Uint8Array; blend: Float32Array } {
  const bg = backgroundColour(px);
  const n = px.length / 3;
  const dist = new Float32Array(n), label = new Uint8Array(n), blend = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const d = [px[p * 3] - bg[0], px[p * 3 + 1] - bg[1], px[p * 3 + 2] - bg[2]];
    dist[p] = Math.abs(d[0]) + Math.abs(d[1]) + Math.abs(d[2]);
    if (dist[p] <= FOREGROUND) continue;
    let best = Infinity;
    PALETTE.forEach((c, k) => {
      const e = [c[0] - bg[0], c[1] - bg[1], c[2] - bg[2]];
      const a = Math.min(1, Math.max(0, (d[0] * e[0] + d[1] * e[1] + d[2] * e[2]) / Math.max(1, e[0] * e[0] + e[1] * e[1] + e[2] * e[2])));
      const r = (d[0] - a * e[0]) ** 2 + (d[1] - a * e[1]) ** 2 + (d[2] - a * e[2]) ** 2;
      if (r < best) [best, label[p], blend[p]] = [r, k, a];
    });
  }
  return { dist, label, blend };
}

/** 8-connected regions of foreground pixels (mask) with the same palette name: an id per pixel, 0 for background. */
function components(mask: Uint8Array, name: Uint8Array, W: number, H: number): Int32Array {
  const label = new Int32Array(W * H);
  const stack: number[] = [];
  let next = 0;
  for (let start = 0; start < W * H; start++) {
    if (!mask[start] || label[start]) continue;
    label[start] = ++next;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % W, y = (p - x) / W;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx, yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
        const q = yy * W + xx;
        if (mask[q] && !label[q] && name[q] === name[p]) {
          label[q] = next;
          stack.push(q);
        }
      }
    }
  }
  return label;
}

/**
 * The acting object's track through a clip. Pixels that change during the clip (against its first
 * frame) mark the actor: in each frame it is the foreground components that hold any of them (a
 * still object two pixels away stays out). When nothing changes, all foreground counts as the actor.
 */
export function trackActor(clip: Frames): TrackFrame[] {
  const v = toUint8(clip);
  const { w: W, h: H } = v;
  const size = H * W * 3;
  const frames = Array.from({ length: v.t }, (_, t) => v.data.subarray(t * size, (t + 1) * size) as Uint8Array);
  const read = frames.map(readPixels);
  const changed = new Uint8Array(H * W);
  for (let t = 1; t < v.t; t++) for (let p = 0; p < H * W; p++) {
    const d = Math.abs(frames[t][p * 3] - frames[0][p * 3]) + Math.abs(frames[t][p * 3 + 1] - frames[0][p * 3 + 1]) + Math.abs(frames[t][p * 3 + 2] - frames[0][p * 3 + 2]);
    if (d > FOREGROUND) changed[p] = 1;
  }
  const anyChange = changed.some((c) => c === 1);
  return frames.map((px, t) => {
    const { dist, label: name, blend } = read[t];
    const fg = Uint8Array.from(dist, (d) => (d > FOREGROUND ? 1 : 0));
    const label = components(fg, name, W, H);
    const acting = new Set<number>();
    const votes = new Float32Array(PALETTE.length);
    for (let p = 0; p < H * W; p++) {
      if (!label[p] || (anyChange && !changed[p])) continue;
      acting.add(label[p]);
      votes[name[p]] += blend[p];
    }
    // A still object the actor overlaps changes where it is covered; when its colour differs, the
    // changing pixels' majority colour leaves it out.
    const colour = votes.indexOf(Math.max(...votes));
    const mask = Uint8Array.from(label, (l, p) => (l && acting.has(l) && name[p] === colour ? 1 : 0));
    return describe(px, { dist, name, blend }, mask, anyChange ? changed : mask, W, fg.reduce((a, b) => a + b, 0));
  });
}

/**
 * The numbers of one frame's acting object (`mask`). Its colour is voted by the pixels that change
 * during the clip when it has any: a still object it overlaps (and so merges with) changes only
 * where it is covered, so it does not outvote the actor.
 */
function describe(px: Uint8Array, read: { dist: Float32Array; name: Uint8Array; blend: Float32Array }, mask: Uint8Array, changed: Uint8Array, W: number, foreground: number): TrackFrame {
  const { dist, name, blend } = read;
  let area = 0, sx = 0, sy = 0, contrast = 0;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    const x = p % W, y = (p - x) / W;
    area++; sx += x; sy += y;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    contrast = Math.max(contrast, dist[p]);
  }
  if (area === 0) return { area, cx: NaN, cy: NaN, w: 0, h: 0, radius: 0, outline: [0, 0, 0], rgb: [0, 0, 0], colour: '', contrast: 0, cover: new Float32Array(mask.length), foreground };
  const cx = sx / area, cy = sy / area;
  const rgb: [number, number, number] = [0, 0, 0];
  let core = 0, radius = 0;
  const votes = new Float32Array(PALETTE.length);
  const voters = mask.some((m, p) => m && changed[p]) ? changed : mask;
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    if (voters[p]) votes[name[p]] += blend[p];
    const x = p % W, y = (p - x) / W;
    radius = Math.max(radius, Math.hypot(x - cx, y - cy));
    if (dist[p] < 0.7 * contrast) continue;
    core++;
    for (let c = 0; c < 3; c++) rgb[c] += px[p * 3 + c];
  }
  const colour = COLOUR_NAMES[votes.indexOf(Math.max(...votes))];
  const cover = Float32Array.from(mask, (m, p) => (m ? blend[p] : 0));
  return { area, cx, cy, w: x1 - x0 + 1, h: y1 - y0 + 1, radius, outline: outline(cover, W), rgb: [rgb[0] / core, rgb[1] / core, rgb[2] / core], colour, contrast, cover, foreground };
}

function outline(cover: Float32Array, W: number): [number, number, number] {
  const H = cover.length / W;
  let area = 0, sx = 0, sy = 0;
  const cols = new Float32Array(W), rows = new Float32Array(H);
  for (let p = 0; p < cover.length; p++) {
    const c = cover[p];
    if (!c) continue;
    const x = p % W, y = (p - x) / W;
    area += c; sx += c * x; sy += c * y;
    cols[x] = Math.max(cols[x], c);
    rows[y] = Math.max(rows[y], c);
  }
  if (area < 1) return [0, 0, 0];
  const cx = sx / area, cy = sy / area;
  let reach = 0, second = 0;
  for (let p = 0; p < cover.length; p++) {
    const c = cover[p];
    if (!c) continue;
    const x = p % W, y = (p - x) / W;
    const r2 = (x - cx) ** 2 + (y - cy) ** 2;
    second += c * r2;
    if (c >= 0.5) reach = Math.max(reach, Math.sqrt(r2));
  }
  const box = cols.reduce((a, b) => a + b, 0) * rows.reduce((a, b) => a + b, 0);
  return [area / box, reach / Math.sqrt(area), second / (area * area)];
}

/**
 * What the rules read from one segment clip, against what its prompt asks: each check is null
 * when the prompt's action does not call for it.
 */
export interface SegmentMeasures {
  frames: number;
  /** Frames showing at least MIN_AREA foreground pixels. */
  visibleFrames: number;
  /** move-*: centroid travel along the named direction (px, first to last visible frame); null otherwise. */
  travel: number | null;
  /** move-* and jump: the object went the named way (jump: comes down >= MIN_TRAVEL from its highest point). */
  motion: boolean | null;
  /** grow/shrink: the area changed the named way by SIZE_RATIO. */
  size: boolean | null;
  /** The object's palette colour is the named one (change-colour: the new colour in the last frame). */
  colour: boolean;
}

const DIRECTIONS: Partial<Record<Action, [number, number]>> = {
  'move-left': [-1, 0], 'move-right': [1, 0], 'move-up': [0, -1], 'move-down': [0, 1],
};

/** The judge-free measures of one segment clip against the segment it should show. */
export function measureSegment(clip: Frames, segment: Pick<Segment, 'action' | 'colour' | 'toColour'>): SegmentMeasures {
  const track = trackActor(clip);
  const seen = track.filter((f) => f.area >= MIN_AREA);
  const first = seen[0], last = seen[seen.length - 1];
  const dir = DIRECTIONS[segment.action];
  let travel: number | null = null;
  let motion: boolean | null = null;
  if (dir) {
    const dx = seen.length ? last.cx - first.cx : 0, dy = seen.length ? last.cy - first.cy : 0;
    travel = dx * dir[0] + dy * dir[1];
    const across = Math.abs(dx * dir[1] - dy * dir[0]);
    motion = travel >= MIN_TRAVEL && travel >= 2 * across;
  } else if (segment.action === 'jump') {
    // A clip may start mid-jump (story continuation cuts the first segment), so only the fall is required.
    const top = seen.reduce((m, f) => Math.min(m, f.cy), Infinity);
    motion = seen.length > 1 && last.cy - top >= MIN_TRAVEL;
  }
  let size: boolean | null = null;
  if (segment.action === 'grow' || segment.action === 'shrink') {
    const ratio = seen.length ? last.area / first.area : 1;
    size = segment.action === 'grow' ? ratio >= SIZE_RATIO : ratio <= 1 / SIZE_RATIO;
  }
  // The named colour is read where the object stands out most; a colour change is judged at its end.
  const shown = segment.action === 'change-colour' ? last : seen.reduce<TrackFrame | undefined>((b, f) => (!b || f.contrast > b.contrast ? f : b), undefined);
  const colour = shown !== undefined && shown.colour === (segment.action === 'change-colour' ? segment.toColour : segment.colour);
  return { frames: track.length, visibleFrames: track.filter((f) => f.foreground >= MIN_AREA).length, travel, motion, size, colour };
}
