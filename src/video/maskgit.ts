/**
 * The Phenaki generator: a bidirectional masked transformer over a window of video tokens,
 * conditioned on text through prefix tokens (a small text transformer's outputs placed before the
 * video tokens) and, optionally, the pooled text features added to every video token. Trained
 * MaskGIT-style (cosine mask schedule, loss on masked tokens only); sampled by parallel decoding
 * with confidence-based re-masking and classifier-free guidance.
 */
import { check, type Rng } from '../core/index.js';
import { tf } from '../backend/index.js';
import { block, dense, embed, layerNorm, ParamSet, type BlockConfig } from './layers.js';
import { PAD } from './text.js';
import type { CViViT } from './cvivit.js';

/**
 * Shorthand for `tf.Tensor`.
 *
 * @inline
 */
type Tensor = tf.Tensor;

export interface GeneratorConfig {
  /** Codes per tokenizer codebook. */
  codes: number;
  /**
   * Codebooks per token, for a product-quantised tokenizer (absent: 1): a token's id is sum over g
   * of code_g * codes^g, the model embeds and predicts each group's code (one softmax per group, the
   * groups independent given the input), and id codes^groups is the mask token.
   */
  codeGroups?: number;
  /** Time steps per window and tokens per time step. */
  windowSteps: number;
  tokensPerStep: number;
  vocab: number;
  textLen: number;
  dim: number;
  heads: number;
  mlp: number;
  layers: number;
  textLayers: number;
  labelSmoothing: number;
  /**
   * Also add the pooled text features to every video token. Prefix tokens alone reach the video
   * only through attention, which a small model trained briefly learns to ignore (its loss was the
   * same with shuffled prompts); the direct path makes the prompt impossible to miss.
   */
  pooledText?: boolean;
  /**
   * Divided space-time attention (TimeSformer-style): each layer attends within a time step (with
   * the text tokens as a prefix) and then across time steps at each position. Full attention over
   * a window costs (S*P)^2 per head; at 64 tokens per step that is 4-5x the divided cost and made
   * training too slow on wasm. Implies pooledText.
   */
  factorized?: boolean;
}

export class MaskGit {
  readonly params = new ParamSet();

  constructor(readonly cfg: GeneratorConfig) {}

  get tokens(): number {
    return this.cfg.windowSteps * this.cfg.tokensPerStep;
  }

  get groups(): number {
    return this.cfg.codeGroups ?? 1;
  }

  /** The mask token: one past the largest token id. */
  get maskId(): number {
    return this.cfg.codes ** this.groups;
  }

  /** Token ids [...] -> group g's code [...], with `codes` standing for the mask token. */
  private groupIds(ids: Tensor, g: number): Tensor {
    if (this.groups === 1) return ids;
    const K = this.cfg.codes;
    const code = tf.mod(tf.floorDiv(ids, tf.scalar(K ** g, 'int32')), tf.scalar(K, 'int32'));
    return tf.where(ids.equal(tf.scalar(this.maskId, 'int32')), tf.fill(ids.shape, K, 'int32'), code);
  }

  /** Video ids [B, N] -> embeddings [B, N, D]: the sum of each group's code embedding. */
  private embedVideo(videoIds: Tensor): Tensor {
    const D = this.cfg.dim;
    const ids = videoIds.toInt();
    return Array.from({ length: this.groups }, (_, g) => embed(this.params, g === 0 ? 'video/embed' : `video/embed${g}`, this.groupIds(ids, g), this.cfg.codes + 1, D))
      .reduce((a, b) => a.add(b));
  }

  private get blockCfg(): BlockConfig {
    return { dim: this.cfg.dim, heads: this.cfg.heads, mlp: this.cfg.mlp };
  }

  /** Text ids [B, L] -> features [B, L, D] and the additive key mask of padding [B, 1, 1, L]. */
  encodeText(textIds: Tensor): { h: Tensor; mask: Tensor } {
    const [B, L] = textIds.shape as number[];
    const D = this.cfg.dim;
    const mask = textIds.equal(PAD).toFloat().mul(-1e9).reshape([B, 1, 1, L]);
    let h = embed(this.params, 'text/embed', textIds, this.cfg.vocab, D).add(this.params.get('text/pos', [this.cfg.textLen, D]).slice([0, 0], [L, D]));
    for (let i = 0; i < this.cfg.textLayers; i++) h = block(this.params, `text/block${i}`, h, this.blockCfg, mask);
    return { h: layerNorm(this.params, 'text/ln_out', h), mask };
  }

  /** Video ids [B, N] (mask id where unknown) and text ids [B, L] -> logits [B, N, groups*codes] (group g's codes at g*codes). */
  logits(videoIds: Tensor, textIds: Tensor): Tensor {
    const [B, N] = videoIds.shape as number[];
    const L = textIds.shape[1]!;
    const D = this.cfg.dim;
    const text = this.encodeText(textIds);
    let v = this.embedVideo(videoIds).add(this.params.get('video/pos', [this.tokens, D]).slice([0, 0], [N, D]));
    if (this.cfg.factorized) return this.factorizedLogits(v, textIds, text);
    if (this.cfg.pooledText) {
      v = v.add(dense(this.params, 'text/to_tokens', this.pooled(textIds, text), D).reshape([B, 1, D]));
    }
    let h = tf.concat([dense(this.params, 'text/to_prefix', text.h, D), v], 1);
    const mask = tf.concat([text.mask, tf.zeros([B, 1, 1, N])], 3);
    for (let i = 0; i < this.cfg.layers; i++) h = block(this.params, `main/block${i}`, h, this.blockCfg, mask);
    const out = layerNorm(this.params, 'main/ln_out', h.slice([0, L, 0], [B, N, D]));
    return dense(this.params, 'main/logits', out, this.cfg.codes * this.groups);
  }

  private pooled(textIds: Tensor, text: { h: Tensor }): Tensor {
    const [B, L] = textIds.shape as number[];
    const keep = textIds.notEqual(PAD).toFloat().reshape([B, L, 1]);
    return text.h.mul(keep).sum(1).div(keep.sum(1).maximum(1));
  }

  /** Divided space-time attention over video embeddings v [B, N, D]. */
  private factorizedLogits(v: Tensor, textIds: Tensor, text: { h: Tensor; mask: Tensor }): Tensor {
    const [B, N, D] = v.shape as number[];
    const L = textIds.shape[1]!;
    const P = this.cfg.tokensPerStep;
    const S = N / P;
    check(Number.isInteger(S), `window of ${N} tokens is not a whole number of ${P}-token steps`);
    let h = v.add(dense(this.params, 'text/to_tokens', this.pooled(textIds, text), D).reshape([B, 1, D]));
    // The text prefix, repeated for every time step's spatial attention.
    const prefix = tf.tile(dense(this.params, 'text/to_prefix', text.h, D).reshape([B, 1, L, D]), [1, S, 1, 1]).reshape([B * S, L, D]);
    const mask = tf.concat([tf.tile(text.mask, [1, S, 1, 1]).reshape([B * S, 1, 1, L]), tf.zeros([B * S, 1, 1, P])], 3);
    for (let i = 0; i < this.cfg.layers; i++) {
      const spatial = block(this.params, `main/spatial${i}`, tf.concat([prefix, h.reshape([B * S, P, D])], 1), this.blockCfg, mask);
      h = spatial.slice([0, L, 0], [B * S, P, D]).reshape([B, S, P, D]).transpose([0, 2, 1, 3]).reshape([B * P, S, D]);
      h = block(this.params, `main/temporal${i}`, h, this.blockCfg).reshape([B, P, S, D]).transpose([0, 2, 1, 3]).reshape([B, N, D]);
    }
    return dense(this.params, 'main/logits', layerNorm(this.params, 'main/ln_out', h), this.cfg.codes * this.groups);
  }

  /**
   * Cross-entropy (label-smoothed) on masked positions only: `masked` is each position's weight,
   * 0 where the input was not masked (1 for a plain masked-token loss). With code groups, a
   * position's loss is the sum of its groups' cross-entropies.
   */
  loss(inputIds: Tensor, targetIds: Tensor, masked: Tensor, textIds: Tensor): Tensor {
    const K = this.cfg.codes;
    const G = this.groups;
    const logits = this.logits(inputIds, textIds).reshape([-1, G, K]);
    const eps = this.cfg.labelSmoothing;
    const flat = targetIds.reshape([-1]).toInt();
    const codes = G === 1 ? flat.reshape([-1, 1]) : tf.stack(Array.from({ length: G }, (_, g) => this.groupIds(flat, g)), 1);
    const target = tf.oneHot(codes, K).toFloat().mul(1 - eps).add(eps / K);
    const nll = tf.logSoftmax(logits).mul(target).sum([1, 2]).neg();
    const w = masked.reshape([-1]).toFloat();
    return nll.mul(w).sum().div(w.sum().add(1e-6));
  }

  build(): void {
    tf.tidy(() => {
      this.logits(tf.zeros([1, this.tokens], 'int32'), tf.zeros([1, this.cfg.textLen], 'int32'));
    });
  }
}

/**
 * Refuses a generator whose tokens are not the tokenizer's: another codebook size, number of code
 * groups or tokens per time step would decode to noise or fail deep inside the model.
 */
export function checkSameTokens(tok: Pick<CViViT, 'cfg' | 'groups' | 'patchesPerStep'>, model: MaskGit): void {
  const of = (codes: number, groups: number, perStep: number) => `${codes} codes${groups > 1 ? ` x ${groups} groups` : ''}, ${perStep} tokens per step`;
  const t = of(tok.cfg.codebook, tok.groups, tok.patchesPerStep);
  const g = of(model.cfg.codes, model.groups, model.cfg.tokensPerStep);
  check(t === g, `the generator speaks other tokens (${g}) than the tokenizer (${t}): use the tokenizer it was trained with`);
}

/** MaskGIT mask ratio for progress t in [0, 1]: cos(pi/2 * t). */
export function cosineSchedule(t: number): number {
  return Math.cos((Math.PI / 2) * t);
}

export interface SampleOptions {
  /** Parallel decoding iterations. */
  steps: number;
  /** Token sampling temperature. */
  temperature: number;
  /** Classifier-free guidance scale s: logits = null + s * (cond - null); 1 = no guidance. */
  guidance: number;
  /** Confidence (Gumbel) noise scale, annealed to 0 over the iterations. */
  choiceTemperature: number;
  rng: Rng;
}

function gumbel(rng: Rng): number {
  return -Math.log(-Math.log(Math.max(1e-20, rng.next())) + 1e-20);
}

/**
 * Fills the unknown entries (-1) of `known` (length = window tokens) by parallel decoding:
 * every iteration predicts all masked tokens, keeps the most confident ones and re-masks the
 * rest, with the number still masked following the cosine schedule.
 */
export function sampleWindow(model: MaskGit, known: Int32Array, textIds: number[], nullIds: number[], opts: SampleOptions): Int32Array {
  const N = model.tokens;
  const K = model.cfg.codes;
  const G = model.groups;
  check(known.length === N, `known tokens must have length ${N}`);
  check(opts.steps >= 1, 'decoding steps must be >= 1');
  const ids = Int32Array.from(known, (t) => (t < 0 ? model.maskId : t));
  const unknown: number[] = [];
  known.forEach((t, i) => { if (t < 0) unknown.push(i); });
  const total = unknown.length;
  const guided = opts.guidance !== 1;
  const texts = guided ? [textIds, nullIds] : [textIds];
  const logitsBuf = new Float64Array(K);
  for (let it = 0; it < opts.steps && unknown.some((i) => ids[i] === model.maskId); it++) {
    const out = tf.tidy(() => {
      const v = tf.tensor2d(Array.from({ length: texts.length }, () => Array.from(ids)), [texts.length, N], 'int32');
      const t = tf.tensor2d(texts, [texts.length, model.cfg.textLen], 'int32');
      return model.logits(v, t);
    });
    const data = out.dataSync();
    out.dispose();
    const proposals: { pos: number; token: number; conf: number }[] = [];
    const anneal = opts.choiceTemperature * (1 - (it + 1) / opts.steps);
    const row = G * K;
    for (const pos of unknown) {
      if (ids[pos] !== model.maskId) continue;
      // Each group's code is sampled from softmax(logits / temperature); the token's confidence is
      // the sum of their log-probabilities.
      let token = 0;
      let logProb = 0;
      for (let g = 0; g < G; g++) {
        const at = pos * row + g * K;
        for (let k = 0; k < K; k++) {
          const c = data[at + k];
          logitsBuf[k] = guided ? data[N * row + at + k] + opts.guidance * (c - data[N * row + at + k]) : c;
        }
        let max = -Infinity;
        for (let k = 0; k < K; k++) max = Math.max(max, logitsBuf[k]);
        let z = 0;
        const probs = new Float64Array(K);
        for (let k = 0; k < K; k++) z += probs[k] = Math.exp((logitsBuf[k] - max) / opts.temperature);
        const code = opts.rng.categorical(probs);
        token += code * K ** g;
        logProb += Math.log(probs[code] / z);
      }
      proposals.push({ pos, token, conf: logProb + anneal * gumbel(opts.rng) });
    }
    // Tokens still masked after this iteration, per the cosine schedule.
    const keepMasked = it === opts.steps - 1 ? 0 : Math.floor(total * cosineSchedule((it + 1) / opts.steps));
    const stillMasked = unknown.filter((i) => ids[i] === model.maskId).length;
    const accept = Math.max(1, stillMasked - keepMasked);
    proposals.sort((a, b) => b.conf - a.conf);
    for (const p of proposals.slice(0, accept)) ids[p.pos] = p.token;
  }
  return ids;
}
