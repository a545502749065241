/**
 * Transformer pieces over a named variable set. The video models use custom variables (not
 * LayersModels) because they need causal masks, vector quantisation and token masking; the set is
 * saved as a standard tfjs weights manifest (model.json + weights.bin), readable by any tfjs app.
 *
 * Matmuls never use transposeA/transposeB: on wasm those paths are 10-25x slower than an explicit
 * transpose (measured on this project's 2-core machine).
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../core/index.js';
import { tf, nextSeed } from '../backend/index.js';

type Tensor = tf.Tensor;

export class ParamSet {
  readonly vars = new Map<string, tf.Variable>();

  /** The variable `name`, created on first use (normal(0, std) or a constant). */
  get(name: string, shape: number[], init: number | 'zeros' | 'ones' = 0.02): tf.Variable {
    let v = this.vars.get(name);
    if (!v) {
      const value = init === 'zeros' ? tf.zeros(shape) : init === 'ones' ? tf.ones(shape) : tf.randomNormal(shape, 0, init, 'float32', nextSeed());
      // Unnamed: tfjs variable names are global, and two models may share parameter names.
      v = tf.variable(value, true);
      value.dispose();
      this.vars.set(name, v);
    }
    return v;
  }

  list(): tf.Variable[] {
    return [...this.vars.values()];
  }

  count(): number {
    return this.list().reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** x [..., din] @ W [din, dout] + b. */
export function dense(p: ParamSet, name: string, x: Tensor, dout: number, bias = true): Tensor {
  const din = x.shape[x.shape.length - 1];
  const w = p.get(`${name}/kernel`, [din, dout], Math.sqrt(1 / din));
  const flat = x.reshape([-1, din]);
  let y = tf.matMul(flat, w);
  if (bias) y = y.add(p.get(`${name}/bias`, [dout], 'zeros'));
  return y.reshape([...x.shape.slice(0, -1), dout]);
}

export function layerNorm(p: ParamSet, name: string, x: Tensor): Tensor {
  const d = x.shape[x.shape.length - 1];
  const { mean, variance } = tf.moments(x, -1, true);
  const norm = x.sub(mean).div(variance.add(1e-5).sqrt());
  return norm.mul(p.get(`${name}/gamma`, [d], 'ones')).add(p.get(`${name}/beta`, [d], 'zeros'));
}

export function gelu(x: Tensor): Tensor {
  return x.mul(tf.sigmoid(x.mul(1.702)));
}

/** Additive causal mask [1, 1, n, n]: position i attends to j <= i only. */
export function causalMask(n: number): Tensor {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = -1e9;
  return tf.tensor4d(m, [1, 1, n, n]);
}

export interface BlockConfig {
  dim: number;
  heads: number;
  mlp: number;
}

/** Multi-head self-attention over x [B, N, D]; `mask` is additive, broadcastable to [B, H, N, N]. */
export function selfAttention(p: ParamSet, name: string, x: Tensor, cfg: BlockConfig, mask?: Tensor): Tensor {
  const [B, N, D] = x.shape;
  const H = cfg.heads;
  const dh = D / H;
  // Separate projections: slicing a fused qkv tensor is very slow on wasm (rank-5 Slice).
  const heads = (t: Tensor, perm: number[]) => t.reshape([B, N, H, dh]).transpose(perm);
  const q = heads(dense(p, `${name}/q`, x, D), [0, 2, 1, 3]);
  const kT = heads(dense(p, `${name}/k`, x, D), [0, 2, 3, 1]);
  const v = heads(dense(p, `${name}/v`, x, D), [0, 2, 1, 3]);
  let scores = tf.matMul(q, kT).mul(1 / Math.sqrt(dh));
  if (mask) scores = scores.add(mask);
  const out = tf.matMul(tf.softmax(scores), v).transpose([0, 2, 1, 3]).reshape([B, N, D]);
  return dense(p, `${name}/out`, out, D);
}

/** Pre-norm transformer block. */
export function block(p: ParamSet, name: string, x: Tensor, cfg: BlockConfig, mask?: Tensor): Tensor {
  const a = x.add(selfAttention(p, `${name}/attn`, layerNorm(p, `${name}/ln1`, x), cfg, mask));
  const h = gelu(dense(p, `${name}/fc1`, layerNorm(p, `${name}/ln2`, a), cfg.mlp));
  return a.add(dense(p, `${name}/fc2`, h, cfg.dim));
}

/** Row-wise one-hot embedding lookup (a matmul, since the gather gradient is missing on wasm). */
export function embed(p: ParamSet, name: string, ids: Tensor, vocab: number, dim: number): Tensor {
  const table = p.get(name, [vocab, dim], 0.02);
  const flat = tf.oneHot(ids.reshape([-1]).toInt(), vocab).toFloat();
  return tf.matMul(flat, table).reshape([...ids.shape, dim]);
}

export interface SavedModel<C> {
  format: string;
  config: C;
  extra?: Record<string, unknown>;
}

/** Writes `params` (plus config) as DIR/model.json + DIR/weights.bin (tfjs weights manifest). */
export async function saveParams<C>(dir: string, params: ParamSet, meta: SavedModel<C>): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const named: tf.NamedTensorMap = {};
  for (const [name, v] of params.vars) named[name] = v;
  const { data, specs } = await tf.io.encodeWeights(named);
  const json = { ...meta, weightsManifest: [{ paths: ['weights.bin'], weights: specs }] };
  // Write-then-rename so an interrupted save never leaves a half-written checkpoint.
  fs.writeFileSync(path.join(dir, 'weights.bin.tmp'), Buffer.from(data));
  fs.writeFileSync(path.join(dir, 'model.json.tmp'), JSON.stringify(json, null, 1));
  fs.renameSync(path.join(dir, 'weights.bin.tmp'), path.join(dir, 'weights.bin'));
  fs.renameSync(path.join(dir, 'model.json.tmp'), path.join(dir, 'model.json'));
}

export function readSaved<C>(dir: string, format: string): SavedModel<C> & { weights: tf.NamedTensorMap } {
  const file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) throw new KilnError(`no ${format} checkpoint at ${dir} (missing model.json)`);
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedModel<C> & { weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  if (json.format !== format) throw new KilnError(`${dir} holds a '${json.format}' checkpoint, expected '${format}'`);
  const group = json.weightsManifest[0];
  const buf = fs.readFileSync(path.join(dir, group.paths[0]));
  const weights = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), group.weights);
  return { ...json, weights };
}

/** Copies saved values into an already built ParamSet (names and shapes must match). */
export function assignParams(params: ParamSet, weights: tf.NamedTensorMap, source: string): void {
  for (const [name, v] of params.vars) {
    const w = weights[name];
    if (!w) throw new KilnError(`${source}: checkpoint lacks weight '${name}'`);
    if (w.shape.join(',') !== v.shape.join(',')) throw new KilnError(`${source}: weight '${name}' has shape [${w.shape}], expected [${v.shape}]`);
    v.assign(w);
  }
  for (const w of Object.values(weights)) w.dispose();
}

/** Saves/restores Adam moments next to a checkpoint so training resumes where it stopped. */
export async function saveOptimizer(dir: string, opt: tf.Optimizer): Promise<void> {
  const weights = await opt.getWeights();
  const named: tf.NamedTensorMap = {};
  for (const w of weights) named[w.name] = w.tensor;
  const { data, specs } = await tf.io.encodeWeights(named);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'optimizer.bin'), Buffer.from(data));
  fs.writeFileSync(path.join(dir, 'optimizer.json'), JSON.stringify({ specs, order: weights.map((w) => w.name) }));
}

export async function loadOptimizer(dir: string, opt: tf.Optimizer): Promise<boolean> {
  const jf = path.join(dir, 'optimizer.json');
  if (!fs.existsSync(jf)) return false;
  const { specs, order } = JSON.parse(fs.readFileSync(jf, 'utf8')) as { specs: tf.io.WeightsManifestEntry[]; order: string[] };
  const buf = fs.readFileSync(path.join(dir, 'optimizer.bin'));
  const map = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), specs);
  await opt.setWeights(order.map((name) => ({ name, tensor: map[name] })));
  return true;
}

/** Identity in the forward pass, zero gradient backwards (tfjs has no stop_gradient op). */
export const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: x.clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
