import { Command } from 'commander';
import { backendInfo, initBackend, NATIVE_INSTALL_HINT } from '../../backend/index.js';
import { onnxRuntimeAvailable, ONNXRUNTIME_HINT } from '../../nn/index.js';
import { backendOption } from '../flags.js';

/** `kiln doctor`: which backend Kiln computes on here, its threads and library versions. */
export function register(program: Command): void {
  program
    .command('doctor')
    .description('Show the active tfjs backend, its threads and the libraries under it (libtorch, BLAS, oneDNN) and whether onnxruntime-node is installed')
    .addOption(backendOption())
    .option('--json', 'print the same as JSON')
    .action(async (flags: { backend?: string; json?: boolean }) => {
      await initBackend(flags.backend);
      const info = backendInfo();
      const onnxruntime = await onnxRuntimeAvailable();
      if (flags.json) {
        console.log(JSON.stringify({ ...info, onnxruntime }, null, 2));
        return;
      }
      const n = info.native;
      console.log(`backend   ${info.active}`);
      if (n.available) {
        console.log(`native    libtorch ${n.torch}, ${n.threads} thread${n.threads === 1 ? '' : 's'} (${n.kilnThreads ? `KILN_THREADS=${n.kilnThreads}` : `all ${info.cores} cores; KILN_THREADS overrides`}), ${n.parallel}`);
        console.log(`blas      ${n.blas}${n.blasThreads > 0 ? `, ${n.blasThreads} thread${n.blasThreads === 1 ? '' : 's'}` : ''}`);
        if (!/USE_OPENMP/.test(n.blas) && info.cores > 1) {
          console.log('          (pthreads OpenBLAS: kept to 1 thread beside ATen\'s pool; apt-get install libopenblas0-openmp for threaded matmuls)');
        }
        console.log(`oneDNN    ${n.oneDNN ? 'yes' : 'no'}`);
        console.log(`addon     ${n.addon}`);
      } else {
        console.log(`native    unavailable: ${n.reason}; ${NATIVE_INSTALL_HINT}`);
      }
      console.log(`tfjs      ${info.tfjs}, Node ${info.node}, ${info.cores} cores`);
      console.log(`onnx      ${onnxruntime ? 'onnxruntime-node installed' : ONNXRUNTIME_HINT}`);
    });
}
