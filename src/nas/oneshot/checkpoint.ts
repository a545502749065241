import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../../core/index.js';
import { tf } from '../../backend/index.js';
import { writeAtomic } from '../../nn/index.js';

/**
 * Supernet checkpoints: the shared variables, the weight optimizer's slots and a JSON state
 * (step, controller, batch streams) in one folder, written atomically, so a killed search
 * resumes where its last checkpoint left it. Variable names carry a per-process prefix, so
 * names are stored relative to it.
 */

const META = 'oneshot-state.json';
const TENSORS = 'oneshot-tensors.bin';

interface Stored {
  state: unknown;
  tensors: { name: string; shape: number[]; offset: number }[];
}

function relative(name: string, prefix: string): string {
  return name.startsWith(prefix) ? `@${name.slice(prefix.length)}` : name;
}

export function hasOneShotCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, META));
}

export async function saveOneShotCheckpoint(dir: string, prefix: string, vars: tf.Variable[], optimizer: tf.Optimizer, state: unknown): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const named = [...vars.map((v) => ({ name: v.name, tensor: v as tf.Tensor })), ...(await optimizer.getWeights())];
  const arrays = await Promise.all(named.map(async (n) => (await n.tensor.data()) as Float32Array));
  const total = arrays.reduce((s, a) => s + a.length, 0);
  const buf = new Float32Array(total);
  const tensors: Stored['tensors'] = [];
  let offset = 0;
  named.forEach((n, i) => {
    buf.set(arrays[i], offset);
    tensors.push({ name: relative(n.name, prefix), shape: n.tensor.shape, offset });
    offset += arrays[i].length;
  });
  writeAtomic(path.join(dir, TENSORS), new Uint8Array(buf.buffer));
  writeAtomic(path.join(dir, META), JSON.stringify({ state, tensors } satisfies Stored));
}

/** Restores variables and optimizer slots; returns the stored JSON state, or undefined when there is no checkpoint. */
export async function loadOneShotCheckpoint(dir: string, prefix: string, vars: tf.Variable[], optimizer: tf.Optimizer): Promise<unknown> {
  if (!hasOneShotCheckpoint(dir)) return undefined;
  const stored = JSON.parse(fs.readFileSync(path.join(dir, META), 'utf8')) as Stored;
  const raw = fs.readFileSync(path.join(dir, TENSORS));
  const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const byName = new Map(stored.tensors.map((t) => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    return [t.name.startsWith('@') ? prefix + t.name.slice(1) : t.name, { shape: t.shape, values: data.subarray(t.offset, t.offset + size) }];
  }));
  for (const v of vars) {
    const t = byName.get(v.name);
    if (!t || !tf.util.arraysEqual(t.shape, v.shape)) throw new KilnError(`checkpoint ${dir} does not match this supernet (variable ${relative(v.name, prefix)}); use another --out or delete it`);
    const value = tf.tensor(t.values, t.shape);
    v.assign(value);
    value.dispose();
    byName.delete(v.name);
  }
  const slots = [...byName].map(([name, t]) => ({ name, tensor: tf.tensor(t.values, t.shape) }));
  await optimizer.setWeights(slots);
  return stored.state;
}
