import type { Command } from 'commander';
import { register as attack } from './attack.js';
import { register as dashboard } from './dashboard.js';
import { register as demo } from './demo.js';
import { register as detect } from './detect.js';
import { register as doctor } from './doctor.js';
import { register as excusable } from './experiment-excusable.js';
import { register as experimentMobiledets } from './experiment-mobiledets.js';
import { register as experimentNas } from './experiment-nas.js';
import { register as experimentVideo } from './experiment-video.js';
import { register as experimentTabnasToy } from './experiment-tabnas-toy.js';
import { register as explain } from './explain.js';
import { register as oneshot } from './oneshot.js';
import { register as oneshotMobiledet } from './oneshot-mobiledet.js';
import { register as search } from './search.js';
import { register as storybench } from './storybench.js';
import { register as study } from './study.js';
import { register as train } from './train.js';
import { register as video } from './video.js';
import { register as worker } from './worker.js';

/** Every command group of the CLI; each module adds its commands to the program. */
export const COMMANDS: ((program: Command) => void)[] = [
  demo, doctor, search, study, worker, dashboard, experimentNas, train, oneshot, oneshotMobiledet, explain, attack, excusable, video, storybench, experimentTabnasToy, detect, experimentMobiledets, experimentVideo,
];
