import { KilnError, check } from '../core/index.js';

/**
 * A clip of video frames stored row-major as [t, h, w, c]: Kiln's one clip type (generated stories,
 * StoryBench videos, GIFs). Uint8 data is 0..255; float data is whatever the producer used (Kiln's
 * own code keeps floats in 0..255 too so both kinds compare).
 */
export interface Frames {
  data: Uint8Array | Float32Array;
  t: number;
  h: number;
  w: number;
  c: number;
}

export function frameSize(f: Frames): number {
  return f.h * f.w * f.c;
}

export function makeFrames(t: number, h: number, w: number, c = 3): Frames {
  return { data: new Uint8Array(t * h * w * c), t, h, w, c };
}

/** Checks that `data` holds exactly t*h*w*c values. */
export function assertFrames(f: Frames, what: string): void {
  check(
    f.data.length === f.t * f.h * f.w * f.c,
    `${what}: frames hold ${f.data.length} values, expected t*h*w*c = ${f.t}*${f.h}*${f.w}*${f.c}`,
  );
}

/** Frames [start, end) as a view (no copy). */
export function sliceFrames(f: Frames, start: number, end: number): Frames {
  check(start >= 0 && end <= f.t && start <= end, `frame range [${start}, ${end}) is outside a clip of ${f.t} frames`);
  const n = frameSize(f);
  return { ...f, data: f.data.subarray(start * n, end * n), t: end - start };
}

export function concatFrames(parts: Frames[]): Frames {
  check(parts.length > 0, 'nothing to concatenate');
  const [first] = parts;
  for (const p of parts) {
    if (p.h !== first.h || p.w !== first.w || p.c !== first.c) {
      throw new KilnError(`cannot join clips of ${p.h}x${p.w}x${p.c} and ${first.h}x${first.w}x${first.c} frames`);
    }
  }
  const t = parts.reduce((a, p) => a + p.t, 0);
  const out = makeFrames(t, first.h, first.w, first.c);
  let offset = 0;
  for (const p of parts) {
    out.data.set(toUint8(p).data, offset);
    offset += p.data.length;
  }
  return out;
}

/** Rounds and clips to 0..255, as the reference does before feeding a video to a metric. */
export function toUint8(f: Frames): Frames {
  if (f.data instanceof Uint8Array) return f;
  const out = new Uint8Array(f.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(f.data[i])));
  return { ...f, data: out };
}

/** Frame indices taken in order; used for repeat and linspace subsampling. */
export function pickFrames(f: Frames, indices: readonly number[]): Frames {
  const n = frameSize(f);
  const src = toUint8(f).data;
  const out = makeFrames(indices.length, f.h, f.w, f.c);
  indices.forEach((ix, k) => out.data.set(src.subarray(ix * n, (ix + 1) * n), k * n));
  return out;
}

/** A clip of `t` copies of frame `index` of `f`. */
export function repeatFrame(f: Frames, index: number, t: number): Frames {
  return pickFrames(f, new Array<number>(t).fill(index));
}

/**
 * Bilinear resize to h x w; with `crop`, first a centre crop to the target aspect ratio (how
 * StoryBench prepares the 96x160 conditioning frames from a larger source).
 */
export function resizeFrames(f: Frames, h: number, w: number, crop = false): Frames {
  if (f.h === h && f.w === w) return toUint8(f);
  let ch = f.h;
  let cw = f.w;
  if (crop) {
    cw = Math.min(f.w, Math.round((f.h * w) / h));
    ch = Math.min(f.h, Math.round((cw * h) / w));
  }
  const y0 = (f.h - ch) / 2;
  const x0 = (f.w - cw) / 2;
  const src = f.data;
  const out = makeFrames(f.t, h, w, f.c);
  const n = frameSize(f);
  const axis = (size: number, origin: number, span: number, srcSize: number) =>
    Array.from({ length: size }, (_, k) => {
      const s = Math.min(srcSize - 1, Math.max(0, origin + ((k + 0.5) * span) / size - 0.5));
      const a = Math.floor(s);
      return { a, b: Math.min(srcSize - 1, a + 1), f: s - a };
    });
  const ys = axis(h, y0, ch, f.h);
  const xs = axis(w, x0, cw, f.w);
  let o = 0;
  for (let t = 0; t < f.t; t++) {
    const base = t * n;
    for (const y of ys) {
      for (const x of xs) {
        for (let c = 0; c < f.c; c++) {
          const at = (yy: number, xx: number) => src[base + (yy * f.w + xx) * f.c + c];
          const v = (1 - y.f) * ((1 - x.f) * at(y.a, x.a) + x.f * at(y.a, x.b)) + y.f * ((1 - x.f) * at(y.b, x.a) + x.f * at(y.b, x.b));
          out.data[o++] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
  }
  return out;
}

/**
 * Clips placed side by side along the width with `gap` white columns between them; shorter clips
 * hold their last frame and lower ones are padded with white below.
 */
export function sideBySide(clips: Frames[], gap = 2): Frames {
  check(clips.length > 0, 'no clips to place side by side');
  const c = clips[0].c;
  check(clips.every((f) => f.c === c), 'clips differ in channel count');
  const t = Math.max(...clips.map((f) => f.t));
  const h = Math.max(...clips.map((f) => f.h));
  const w = clips.reduce((n, f) => n + f.w, 0) + gap * (clips.length - 1);
  const out = makeFrames(t, h, w, c);
  out.data.fill(255);
  let x0 = 0;
  for (const f of clips) {
    const src = toUint8(f).data;
    const row = f.w * c;
    for (let k = 0; k < t; k++) {
      const at = Math.min(k, f.t - 1);
      for (let y = 0; y < f.h; y++) out.data.set(src.subarray((at * f.h + y) * row, (at * f.h + y + 1) * row), ((k * h + y) * w + x0) * c);
    }
    x0 += f.w + gap;
  }
  return out;
}

/** Samples placed side by side along the width: the reference's [T, H, W*S, 3] layout. */
export function joinWidth(samples: Frames[]): Frames {
  check(samples.length > 0, 'no samples to join');
  const { t, h, w, c } = samples[0];
  for (const s of samples) {
    check(s.t === t && s.h === h && s.w === w && s.c === c, `samples differ in shape: ${s.t}x${s.h}x${s.w}x${s.c} vs ${t}x${h}x${w}x${c}`);
  }
  return sideBySide(samples, 0);
}

/** Inverse of joinWidth: the `count` equal-width samples of a side-by-side video (np.split on axis 2). */
export function splitWidth(f: Frames, count: number): Frames[] {
  check(count >= 1 && f.w % count === 0, `a video ${f.w} pixels wide cannot be split into ${count} equal samples`);
  const w = f.w / count;
  const row = w * f.c;
  const src = toUint8(f).data;
  return Array.from({ length: count }, (_, k) => {
    const out = makeFrames(f.t, f.h, w, f.c);
    for (let r = 0; r < f.t * f.h; r++) out.data.set(src.subarray((r * count + k) * row, (r * count + k + 1) * row), r * row);
    return out;
  });
}

/** Uint8 frames from float values, rounded and clipped to 0..255. */
export function framesFromValues(values: ArrayLike<number>, t: number, h: number, w: number, c = 3): Frames {
  check(values.length >= t * h * w * c, `${values.length} values cannot fill ${t}x${h}x${w}x${c} frames`);
  const out = makeFrames(t, h, w, c);
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.max(0, Math.min(255, Math.round(values[i])));
  return out;
}

/** Peak signal-to-noise ratio (dB) between two clips of equal shape (99 when identical). */
export function psnr(a: Frames, b: Frames): number {
  check(a.data.length === b.data.length, `PSNR needs clips of equal size (${a.data.length} vs ${b.data.length} values)`);
  let se = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - b.data[i];
    se += d * d;
  }
  const mse = se / a.data.length;
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}
