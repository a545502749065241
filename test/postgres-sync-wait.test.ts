/**
 * The blocking wait behind PostgreSQL storage: it returns the worker's answer only once one is
 * there, whatever wake-ups come before it (a late notify of the previous answer), and null after
 * its time. No server needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, Worker } from 'node:worker_threads';
import { waitForAnswer } from '../src/nas/storage/postgres-sync.js';

test('wake-ups without an answer are waited out; the answer that follows is returned', () => {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  // Five notifies with the flag still down (as a late notify of the previous answer), then the answer.
  const worker = new Worker(`
    const { workerData } = require('node:worker_threads');
    const { flag, port } = workerData;
    const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    for (let i = 0; i < 5; i++) { pause(20); Atomics.notify(flag, 0); }
    port.postMessage({ ok: true, value: { rows: [{ n: 7 }], rowCount: 1 } });
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  `, { eval: true, workerData: { flag, port: port2 }, transferList: [port2] });
  try {
    assert.deepEqual(waitForAnswer(flag, port1, 10_000), { ok: true, value: { rows: [{ n: 7 }], rowCount: 1 } });
  } finally {
    void worker.terminate();
    port1.close();
  }
});

test('no answer within the time is null', () => {
  const { port1, port2 } = new MessageChannel();
  const t0 = performance.now();
  assert.equal(waitForAnswer(new Int32Array(new SharedArrayBuffer(4)), port1, 60), null);
  assert.ok(performance.now() - t0 >= 55);
  port1.close();
  port2.close();
});
