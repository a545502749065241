import zlib from 'node:zlib';
import { KilnError } from '../core/index.js';

/**
 * The small subset of the zip format that .npz files use: stored or deflated members, read
 * through the central directory (numpy writes zip64 local headers even for small members, so the
 * central directory is the only reliable source of sizes), written without zip64.
 */

/**
 * One file of a zip archive: its path inside the archive and its bytes.
 *
 * @inline
 */
export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

const EOCD_SIG = 0x06054b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const ZIP64_EOCD_LOCATOR_SIG = 0x07064b50;

export function readZip(buf: Uint8Array, what = 'zip file'): ZipEntry[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new KilnError(`${what} is not a zip archive (no end-of-central-directory record)`);
  let count = view.getUint16(eocd + 10, true);
  let dirOffset = view.getUint32(eocd + 16, true);
  if ((count === 0xffff || dirOffset === 0xffffffff) && eocd >= 20 && view.getUint32(eocd - 20, true) === ZIP64_EOCD_LOCATOR_SIG) {
    const z64 = Number(view.getBigUint64(eocd - 12, true));
    count = Number(view.getBigUint64(z64 + 32, true));
    dirOffset = Number(view.getBigUint64(z64 + 48, true));
  }
  const entries: ZipEntry[] = [];
  let p = dirOffset;
  for (let k = 0; k < count; k++) {
    if (view.getUint32(p, true) !== CENTRAL_SIG) throw new KilnError(`${what}: corrupt central directory`);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    let compSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let localOffset = view.getUint32(p + 42, true);
    const name = Buffer.from(buf.subarray(p + 46, p + 46 + nameLen)).toString('utf8');
    // zip64 extended information: only the fields that overflowed are present, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) { size = Number(view.getBigUint64(q, true)); q += 8; }
        if (compSize === 0xffffffff) { compSize = Number(view.getBigUint64(q, true)); q += 8; }
        if (localOffset === 0xffffffff) { localOffset = Number(view.getBigUint64(q, true)); }
      }
      e += 4 + len;
    }
    if (view.getUint32(localOffset, true) !== LOCAL_SIG) throw new KilnError(`${what}: corrupt local header for ${name}`);
    const start = localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    const raw = buf.subarray(start, start + compSize);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) data = new Uint8Array(zlib.inflateRawSync(raw));
    else throw new KilnError(`${what}: member ${name} uses unsupported compression method ${method}`);
    if (data.length !== size || zlib.crc32(data) >>> 0 !== crc) throw new KilnError(`${what}: member ${name} is corrupt (size or CRC mismatch)`);
    entries.push({ name, data });
    p = extraEnd + commentLen;
  }
  return entries;
}

/** Writes a zip archive; `compress` deflates members like np.savez_compressed. */
export function writeZip(entries: ZipEntry[], compress = true): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBuf = Buffer.from(name, 'utf8');
    const packed = compress ? zlib.deflateRawSync(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const method = compress ? 8 : 0;
    const crc = zlib.crc32(data) >>> 0;
    if (packed.length >= 0xffffffff || data.length >= 0xffffffff) throw new KilnError(`zip member ${name} is too large (over 4 GiB)`);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL_SIG, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x21, 12); // date: 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(CENTRAL_SIG, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, packed);
    centrals.push(central, nameBuf);
    offset += 30 + nameBuf.length + packed.length;
  }
  const dirSize = centrals.reduce((a, b) => a + b.length, 0);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(EOCD_SIG, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(dirSize, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, eocd]);
}
