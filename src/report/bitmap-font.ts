/**
 * A tiny built-in 5x7 bitmap font for labels drawn straight into raster images (PNG grids),
 * where no font renderer is available. Covers A-Z, a-z, 0-9 and common punctuation; any other
 * character is drawn as a hollow box. Each glyph is 5 cells wide ('#' ink, '.' paper): 7 rows down
 * to the baseline, plus 2 rows below it for the descenders of g, j, p, q, y and punctuation. A
 * character advances 6 pixels (one blank column) and a line 10 (one blank row), times `scale`.
 */

export const GLYPH_WIDTH = 5;
/** Rows of a glyph: 7 down to the baseline and 2 of descender. */
export const GLYPH_HEIGHT = 9;
const ADVANCE = GLYPH_WIDTH + 1;
const LINE = GLYPH_HEIGHT + 1;

const GLYPHS: Record<string, string> = {
  ' ': '..... ..... ..... ..... ..... ..... ..... ..... .....',
  A: '.###. #...# #...# ##### #...# #...# #...# ..... .....',
  B: '####. #...# #...# ####. #...# #...# ####. ..... .....',
  C: '.###. #...# #.... #.... #.... #...# .###. ..... .....',
  D: '####. #...# #...# #...# #...# #...# ####. ..... .....',
  E: '##### #.... #.... ####. #.... #.... ##### ..... .....',
  F: '##### #.... #.... ####. #.... #.... #.... ..... .....',
  G: '.###. #...# #.... #.### #...# #...# .#### ..... .....',
  H: '#...# #...# #...# ##### #...# #...# #...# ..... .....',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###. ..... .....',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##.. ..... .....',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...# ..... .....',
  L: '#.... #.... #.... #.... #.... #.... ##### ..... .....',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...# ..... .....',
  N: '#...# #...# ##..# #.#.# #..## #...# #...# ..... .....',
  O: '.###. #...# #...# #...# #...# #...# .###. ..... .....',
  P: '####. #...# #...# ####. #.... #.... #.... ..... .....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.# ..... .....',
  R: '####. #...# #...# ####. #.#.. #..#. #...# ..... .....',
  S: '.#### #.... #.... .###. ....# ....# ####. ..... .....',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..... .....',
  U: '#...# #...# #...# #...# #...# #...# .###. ..... .....',
  V: '#...# #...# #...# #...# #...# .#.#. ..#.. ..... .....',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#. ..... .....',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...# ..... .....',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#.. ..... .....',
  Z: '##### ....# ...#. ..#.. .#... #.... ##### ..... .....',
  a: '..... ..... .###. ....# .#### #...# .#### ..... .....',
  b: '#.... #.... #.##. ##..# #...# #...# ####. ..... .....',
  c: '..... ..... .###. #.... #.... #...# .###. ..... .....',
  d: '....# ....# .##.# #..## #...# #...# .#### ..... .....',
  e: '..... ..... .###. #...# ##### #.... .###. ..... .....',
  f: '..##. .#..# .#... ###.. .#... .#... .#... ..... .....',
  g: '..... ..... .#### #...# #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...# ..... .....',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###. ..... .....',
  j: '...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#. ..... .....',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###. ..... .....',
  m: '..... ..... ##.#. #.#.# #.#.# #...# #...# ..... .....',
  n: '..... ..... #.##. ##..# #...# #...# #...# ..... .....',
  o: '..... ..... .###. #...# #...# #...# .###. ..... .....',
  p: '..... ..... ####. #...# #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #.... ..... .....',
  s: '..... ..... .###. #.... .###. ....# ####. ..... .....',
  t: '.#... .#... ###.. .#... .#... .#..# ..##. ..... .....',
  u: '..... ..... #...# #...# #...# #..## .##.# ..... .....',
  v: '..... ..... #...# #...# #...# .#.#. ..#.. ..... .....',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#. ..... .....',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...# ..... .....',
  y: '..... ..... #...# #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... ##### ..... .....',
  0: '.###. #...# #..## #.#.# ##..# #...# .###. ..... .....',
  1: '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###. ..... .....',
  2: '.###. #...# ....# ...#. ..#.. .#... ##### ..... .....',
  3: '##### ...#. ..#.. ...#. ....# #...# .###. ..... .....',
  4: '...#. ..##. .#.#. #..#. ##### ...#. ...#. ..... .....',
  5: '##### #.... ####. ....# ....# #...# .###. ..... .....',
  6: '..##. .#... #.... ####. #...# #...# .###. ..... .....',
  7: '##### ....# ...#. ..#.. .#... .#... .#... ..... .....',
  8: '.###. #...# #...# .###. #...# #...# .###. ..... .....',
  9: '.###. #...# #...# .#### ....# ...#. .##.. ..... .....',
  '.': '..... ..... ..... ..... ..... .##.. .##.. ..... .....',
  ',': '..... ..... ..... ..... ..... .##.. .##.. ..#.. .#...',
  ':': '..... .##.. .##.. ..... .##.. .##.. ..... ..... .....',
  ';': '..... .##.. .##.. ..... ..... .##.. .##.. ..#.. .#...',
  '_': '..... ..... ..... ..... ..... ..... ..... ..... #####',
  '-': '..... ..... ..... ##### ..... ..... ..... ..... .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. ..... ..... .....',
  '=': '..... ..... ##### ..... ##### ..... ..... ..... .....',
  '/': '..... ....# ...#. ..#.. .#... #.... ..... ..... .....',
  '\\': '..... #.... .#... ..#.. ...#. ....# ..... ..... .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#. ..... .....',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#... ..... .....',
  '[': '.###. .#... .#... .#... .#... .#... .###. ..... .....',
  ']': '.###. ...#. ...#. ...#. ...#. ...#. .###. ..... .....',
  '<': '...#. ..#.. .#... #.... .#... ..#.. ...#. ..... .....',
  '>': '.#... ..#.. ...#. ....# ...#. ..#.. .#... ..... .....',
  '!': '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#.. ..... .....',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#.. ..... .....',
  "'": '..#.. ..#.. .#... ..... ..... ..... ..... ..... .....',
  '"': '.#.#. .#.#. ..... ..... ..... ..... ..... ..... .....',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#. ..... .....',
  '%': '##... ##..# ...#. ..#.. .#... #..## ...## ..... .....',
  '*': '..... ..#.. #.#.# .###. #.#.# ..#.. ..... ..... .....',
  '|': '..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..... .....',
};

const UNKNOWN = '##### #...# #...# #...# #...# #...# ##### ..... .....';

/** The glyph of one character as rows of ink (true) and paper (false). */
export function bitmapGlyph(ch: string): boolean[][] {
  return (GLYPHS[ch] ?? UNKNOWN).split(' ').map((row) => [...row].map((c) => c === '#'));
}

/** Characters the font draws (others come out as a box). */
export const BITMAP_FONT_CHARS = Object.keys(GLYPHS).join('');

/** Width in pixels of one line of text. */
export function bitmapTextWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

/** Height in pixels of `lines` lines of text, descenders included (no trailing gap). */
export function bitmapTextHeight(lines: number, scale = 1): number {
  return lines === 0 ? 0 : (lines * LINE - 1) * scale;
}

/** Whether every word of `text` (split after separators) fits in `maxWidth` pixels, so wrapping never cuts one. */
export function bitmapWordsFit(text: string, maxWidth: number, scale = 1): boolean {
  return words(text).every((w) => bitmapTextWidth(w.trimEnd(), scale) <= maxWidth);
}

/** Words with their trailing separator (space . _ - : /), the places a line may break. */
function words(text: string): string[] {
  return (text.match(/[^ ._:\/-]*[ ._:\/-]?/g) ?? []).filter(Boolean);
}

/**
 * Splits text into lines at most `maxWidth` pixels wide, breaking after separators (space . _ - : /)
 * where it can and inside a word where it must.
 */
export function wrapBitmapText(text: string, maxWidth: number, scale = 1): string[] {
  const perLine = Math.max(1, Math.floor((maxWidth / scale + 1) / ADVANCE));
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (let word of words(paragraph)) {
      if (line.length + word.trimEnd().length > perLine && line) {
        lines.push(line.trimEnd());
        line = '';
      }
      while (word.trimEnd().length > perLine) {
        lines.push(word.slice(0, perLine));
        word = word.slice(perLine);
      }
      line += word;
    }
    lines.push(line.trimEnd());
  }
  return lines;
}

/** An RGBA raster (pngjs's PNG has this shape). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** `#rrggbb` as 0-255 channels. */
export function hexRgb(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** Paints the opaque rectangle [x0, x1) x [y0, y1) in `rgb` (0-255), clipped to the image. */
export function fillRect(img: RgbaImage, x0: number, y0: number, x1: number, y1: number, rgb: readonly number[]): void {
  for (let y = Math.max(0, y0); y < Math.min(img.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(img.width, x1); x++) img.data.set([rgb[0], rgb[1], rgb[2], 255], (y * img.width + x) * 4);
  }
}

/**
 * Draws text with its top-left corner at (x, y), one line per '\n'; pixels outside the image are
 * clipped.
 */
export function drawBitmapText(image: RgbaImage, text: string, x: number, y: number,
  opts: { color?: readonly [number, number, number]; scale?: number } = {}): void {
  const [r, g, b] = opts.color ?? [0, 0, 0];
  const scale = opts.scale ?? 1;
  text.split('\n').forEach((line, li) => [...line].forEach((ch, ci) => {
    const rows = bitmapGlyph(ch);
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (!rows[gy][gx]) continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const px = x + (ci * ADVANCE + gx) * scale + sx;
            const py = y + (li * LINE + gy) * scale + sy;
            if (px < 0 || py < 0 || px >= image.width || py >= image.height) continue;
            const o = (py * image.width + px) * 4;
            image.data[o] = r;
            image.data[o + 1] = g;
            image.data[o + 2] = b;
            image.data[o + 3] = 255;
          }
        }
      }
    }
  }));
}
