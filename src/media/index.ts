/** Video clips and their files: Kiln's one clip type, NumPy .npy/.npz, zip, GIF, MP4 and ffmpeg decoding. */
export {
  type Frames, frameSize, makeFrames, assertFrames, sliceFrames, concatFrames, toUint8, pickFrames, repeatFrame, resizeFrames,
  sideBySide, joinWidth, splitWidth, framesFromValues, psnr,
} from './frames.js';
export {
  type NdArray, type NumericDtype, numeric, strings, parseNpy, serializeNpy, parseNpz, serializeNpz, loadNpy, loadNpz, saveNpy, saveNpz,
  framesFromArray, framesToArray,
} from './npy.js';
export { readZip, writeZip } from './zip.js';
export { encodeGif, type GifOptions } from './gif.js';
export { filmstripPng } from './filmstrip.js';
export { hasFfmpeg, decodeWithFfmpeg, readVideoFile, needsFfmpeg, VIDEO_EXTENSIONS, writeMp4, writeVideoFile } from './video-files.js';
