import { parentPort } from 'node:worker_threads';
import { initBackend, tf } from '../../backend/index.js';
import { measureRunner, runtimes, type Runner } from './runtimes.js';
import type { WasmReply, WasmRequest } from './wasm-runtime.js';

/** Worker-thread entry of the `wasm` runtime: models on this thread's wasm backend, by id. */
const ready = initBackend('wasm');
const runners = new Map<number, { model: tf.LayersModel; runner: Runner }>();

function entry(id: number) {
  const e = runners.get(id);
  if (!e) throw new Error(`no model ${id} in the worker`);
  return e;
}

async function handle(m: WasmRequest): Promise<Float32Array | number | undefined> {
  await ready;
  switch (m.kind) {
    case 'load': {
      const model = await tf.loadLayersModel(tf.io.fromMemory(m.artifacts));
      runners.set(m.model, { model, runner: await runtimes.get('tfjs').load(model) });
      return undefined;
    }
    case 'run':
      return entry(m.model).runner.run(m.x, m.batch);
    case 'measure':
      return measureRunner(entry(m.model).runner, m.shape, m.opts);
    case 'dispose': {
      const e = runners.get(m.model);
      runners.delete(m.model);
      e?.runner.dispose();
      e?.model.dispose();
      return undefined;
    }
  }
}

parentPort!.on('message', (m: WasmRequest) => {
  handle(m).then(
    (value) => m.id >= 0 && parentPort!.postMessage({ id: m.id, ok: true, value } satisfies WasmReply),
    (e: Error) => m.id >= 0 && parentPort!.postMessage({ id: m.id, ok: false, error: e.message.split('\n')[0] } satisfies WasmReply),
  );
});
