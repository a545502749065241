/**
 * Word tokenizer over the generated world's own vocabulary (built from the prompt and background
 * templates, nothing downloaded). Ids: 0 pad, 1 null prompt (classifier-free guidance), 2 separator
 * between prompt and background, then words.
 */
import { KilnError } from '../core/index.js';
import { ACTIONS, BACKGROUND_NAMES, COLOUR_NAMES, SHAPES, backgroundText, promptFor } from './world.js';

export const PAD = 0;
export const NULL = 1;
export const SEP = 2;
const SPECIALS = ['<pad>', '<null>', '<sep>'];

export interface WordTokenizer {
  words: string[];
  maxLen: number;
  encode(prompt: string, background?: string | null): number[];
  nullIds(): number[];
}

export function words(text: string): string[] {
  return text.toLowerCase().replace(/[.,;!?]/g, ' ').split(/\s+/).filter(Boolean);
}

/** Every word any generated prompt or background description can use, in a fixed order. */
export function worldVocabulary(): string[] {
  const seen = new Set<string>();
  const add = (t: string) => words(t).forEach((w) => seen.add(w));
  for (const shape of SHAPES) {
    for (const colour of COLOUR_NAMES) {
      for (const action of ACTIONS) {
        for (const first of [true, false]) add(promptFor(first, colour, shape, action, action === 'change-colour' ? colour : undefined));
      }
    }
  }
  for (const b of BACKGROUND_NAMES) add(backgroundText(b));
  return [...seen].sort();
}

export function createWordTokenizer(vocab: string[] = worldVocabulary(), maxLen = 12): WordTokenizer {
  const all = [...SPECIALS, ...vocab];
  const index = new Map(all.map((w, i) => [w, i]));
  const lookup = (w: string): number => {
    const id = index.get(w);
    if (id === undefined) throw new KilnError(`unknown word '${w}' in prompt (known words: ${vocab.join(' ')})`);
    return id;
  };
  const fit = (ids: number[]): number[] => [...ids.slice(0, maxLen), ...Array(Math.max(0, maxLen - ids.length)).fill(PAD)];
  return {
    words: all,
    maxLen,
    encode(prompt, background) {
      const ids = words(prompt).map(lookup);
      if (ids.length === 0) throw new KilnError('empty prompt');
      if (background) ids.push(SEP, ...words(background).map(lookup));
      return fit(ids);
    },
    nullIds: () => fit([NULL]),
  };
}
