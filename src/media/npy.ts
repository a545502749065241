import fs from 'node:fs';
import path from 'node:path';
import { KilnError, check } from '../core/index.js';
import type { Frames } from './frames.js';
import { readZip, writeZip } from './zip.js';

/**
 * NumPy .npy / .npz reading and writing for the array kinds StoryBench files hold: unsigned and
 * signed integers, floats, booleans and fixed-width unicode strings (`texts`). 64-bit integers are
 * returned as ordinary numbers (exact up to 2^53, far beyond any frame count).
 */

export type NumericDtype = 'u1' | 'i1' | 'u2' | 'i2' | 'u4' | 'i4' | 'i8' | 'u8' | 'f4' | 'f8' | 'b1';

export type NdArray =
  | { kind: 'numeric'; dtype: NumericDtype; shape: number[]; data: Uint8Array | Float32Array | Float64Array | Int32Array }
  | { kind: 'string'; shape: number[]; data: string[] };

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

const ITEM_SIZE: Record<NumericDtype, number> = { u1: 1, i1: 1, b1: 1, u2: 2, i2: 2, u4: 4, i4: 4, i8: 8, u8: 8, f4: 4, f8: 8 };

export function numeric(dtype: NumericDtype, shape: number[], data: Uint8Array | Float32Array | Float64Array | Int32Array): NdArray {
  check(data.length === shape.reduce((a, b) => a * b, 1), `array data (${data.length} values) does not match shape [${shape.join(', ')}]`);
  return { kind: 'numeric', dtype, shape, data };
}

export function strings(values: string[]): NdArray {
  return { kind: 'string', shape: [values.length], data: values };
}

export function parseNpy(buf: Uint8Array, what = 'npy data'): NdArray {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) throw new KilnError(`${what} is not a NumPy .npy array (bad magic)`);
  const major = b[6];
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = b.subarray(start, start + headerLen).toString(major >= 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new KilnError(`${what}: unreadable .npy header ${header.trim()}`);
  if (fortran === 'True') throw new KilnError(`${what}: Fortran-ordered arrays are not supported (save with np.ascontiguousarray)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, v) => a * v, 1);
  const body = b.subarray(start + headerLen);
  const order = descr[0];
  const little = order !== '>';
  const code = /^[<>|=]/.test(descr) ? descr.slice(1) : descr;
  if (code === 'O') throw new KilnError(`${what}: pickled object arrays are not supported; store strings as a unicode array`);
  const uni = /^U(\d+)$/.exec(code);
  const byt = /^S(\d+)$/.exec(code);
  if (uni || byt) {
    const width = Number((uni ?? byt)![1]);
    const item = uni ? width * 4 : width;
    check(body.length >= count * item, `${what}: truncated string array`);
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      let s = '';
      for (let k = 0; k < width; k++) {
        const at = i * item + (uni ? k * 4 : k);
        const cp = uni ? (little ? body.readUInt32LE(at) : body.readUInt32BE(at)) : body[at];
        if (cp === 0) break;
        s += String.fromCodePoint(cp);
      }
      out.push(s);
    }
    return { kind: 'string', shape, data: out };
  }
  if (!(code in ITEM_SIZE)) throw new KilnError(`${what}: unsupported dtype ${descr}`);
  const dtype = code as NumericDtype;
  const size = ITEM_SIZE[dtype];
  check(body.length >= count * size, `${what}: truncated array data (${body.length} bytes for ${count} x ${descr})`);
  if (dtype === 'u1' || dtype === 'b1') return numeric(dtype, shape, new Uint8Array(body.subarray(0, count)));
  const view = new DataView(body.buffer, body.byteOffset, count * size);
  const read: (i: number) => number = {
    i1: (i: number) => view.getInt8(i),
    u2: (i: number) => view.getUint16(i * 2, little),
    i2: (i: number) => view.getInt16(i * 2, little),
    u4: (i: number) => view.getUint32(i * 4, little),
    i4: (i: number) => view.getInt32(i * 4, little),
    i8: (i: number) => Number(view.getBigInt64(i * 8, little)),
    u8: (i: number) => Number(view.getBigUint64(i * 8, little)),
    f4: (i: number) => view.getFloat32(i * 4, little),
    f8: (i: number) => view.getFloat64(i * 8, little),
  }[dtype];
  const data = dtype === 'f4' ? new Float32Array(count) : new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = read(i);
  return numeric(dtype, shape, data);
}

export function serializeNpy(arr: NdArray): Buffer {
  let descr: string;
  let body: Buffer;
  if (arr.kind === 'string') {
    const width = Math.max(1, ...arr.data.map((s) => [...s].length));
    descr = `<U${width}`;
    body = Buffer.alloc(arr.data.length * width * 4);
    arr.data.forEach((s, i) => [...s].forEach((ch, k) => body.writeUInt32LE(ch.codePointAt(0)!, (i * width + k) * 4)));
  } else {
    const { dtype, data } = arr;
    descr = (ITEM_SIZE[dtype] === 1 ? '|' : '<') + dtype;
    const size = ITEM_SIZE[dtype];
    body = Buffer.alloc(data.length * size);
    const write: (v: number, i: number) => void = {
      u1: (v: number, i: number) => body.writeUInt8(v, i),
      b1: (v: number, i: number) => body.writeUInt8(v ? 1 : 0, i),
      i1: (v: number, i: number) => body.writeInt8(v, i),
      u2: (v: number, i: number) => body.writeUInt16LE(v, i * 2),
      i2: (v: number, i: number) => body.writeInt16LE(v, i * 2),
      u4: (v: number, i: number) => body.writeUInt32LE(v, i * 4),
      i4: (v: number, i: number) => body.writeInt32LE(v, i * 4),
      i8: (v: number, i: number) => body.writeBigInt64LE(BigInt(Math.round(v)), i * 8),
      u8: (v: number, i: number) => body.writeBigUint64LE(BigInt(Math.round(v)), i * 8),
      f4: (v: number, i: number) => body.writeFloatLE(v, i * 4),
      f8: (v: number, i: number) => body.writeDoubleLE(v, i * 8),
    }[dtype];
    if (dtype === 'u1') body.set(data as Uint8Array);
    else for (let i = 0; i < data.length; i++) write(data[i], i);
  }
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad so that magic + version + length + header is a multiple of 64, ending in a newline.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const pre = Buffer.alloc(10);
  MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

export function parseNpz(buf: Uint8Array, what = 'npz file'): Map<string, NdArray> {
  const out = new Map<string, NdArray>();
  for (const { name, data } of readZip(buf, what)) {
    out.set(name.replace(/\.npy$/, ''), parseNpy(data, `${what}[${name}]`));
  }
  return out;
}

export function serializeNpz(arrays: Record<string, NdArray>, compress = true): Buffer {
  return writeZip(Object.entries(arrays).map(([name, arr]) => ({ name: `${name}.npy`, data: serializeNpy(arr) })), compress);
}

function readFile(file: string): Buffer {
  if (!fs.existsSync(file)) throw new KilnError(`file not found: ${file}`);
  return fs.readFileSync(file);
}

export function loadNpy(file: string): NdArray {
  return parseNpy(readFile(file), file);
}

export function loadNpz(file: string): Map<string, NdArray> {
  return parseNpz(readFile(file), file);
}

export function saveNpy(file: string, arr: NdArray): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, serializeNpy(arr));
}

export function saveNpz(file: string, arrays: Record<string, NdArray>, compress = true): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, serializeNpz(arrays, compress));
}

/** Frames from an array of shape [T, H, W, 3] (uint8, or float 0..255). */
export function framesFromArray(arr: NdArray, what: string): Frames {
  if (arr.kind !== 'numeric' || arr.shape.length !== 4 || arr.shape[3] !== 3) {
    throw new KilnError(`${what}: expected a frame array of shape [T, H, W, 3], got [${arr.shape.join(', ')}]`);
  }
  const [t, h, w, c] = arr.shape;
  const data = arr.data instanceof Uint8Array ? arr.data : Float32Array.from(arr.data);
  return { data, t, h, w, c };
}

/** Frames as a uint8 (or float32) [T, H, W, C] array, for .npy and .npz files. */
export function framesToArray(f: Frames): NdArray {
  return numeric(f.data instanceof Uint8Array ? 'u1' : 'f4', [f.t, f.h, f.w, f.c], f.data);
}
