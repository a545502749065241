#!/usr/bin/env node
// Dev-time: writes the tiny ONNX feature models committed as StoryBench test fixtures.
// Build first (npx tsc -p tsconfig.json), then: node tools/build-storybench-onnx.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinyFrameModel, tinyVideoModel } from '../dist/src/storybench/onnx-builder.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'storybench');
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'tiny-frame-features.onnx'), tinyFrameModel());
fs.writeFileSync(path.join(dir, 'tiny-video-features.onnx'), tinyVideoModel());
console.log('wrote', dir);
