import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../core/index.js';
import { processGoneHere, processId } from './storage/index.js';

/**
 * Files a trial leaves for people to look at (its saved model, plots, a report), kept in a folder
 * tree beside the storage, as Optuna's FileSystemArtifactStore does: ROOT/STUDY/trial-N/. The root
 * is each machine's own path to a shared folder (workers on many machines mount one), so it is not
 * part of the study; the dashboard is given the same root and links every trial to its files.
 */

const TRIAL_DIR = /^trial-(\d+)$/;
/** Names the dashboard serves: plain files straight inside a trial's folder. */
const FILE_NAME = /^[\w][\w.-]*$/;

function studyDir(root: string, study: string): string {
  // Study names are [\w.-]+; '.' and '..' would name the root or its parent.
  if (study === '.' || study === '..') throw new KilnError(`study '${study}' cannot keep artifacts: its name is a folder reference`);
  return path.join(root, study);
}

/** ROOT/STUDY/trial-N: where trial N of `study` keeps its files. */
export function trialArtifactDir(root: string, study: string, trial: number): string {
  return path.join(studyDir(root, study), `trial-${trial}`);
}

/** trial-N.tmp-HOST:PID:BOOT: a folder being filled by that process. */
const TMP_DIR = /^trial-\d+\.tmp-(.+)$/;

/**
 * Runs `write` with an empty folder to fill, then moves that folder to the trial's place in one
 * rename, before the trial is told: a reader (the dashboard) sees all of a trial's files or none, and
 * every evaluated trial has its files. A worker killed mid-way leaves a `.tmp-` folder that no trial is
 * linked to; the next write on the same machine removes those of processes that no longer exist.
 * Nothing is kept when `write` throws.
 */
export async function writeTrialArtifacts<T>(root: string, study: string, trial: number, write: (dir: string) => Promise<T>): Promise<T> {
  const dir = trialArtifactDir(root, study, trial);
  const tmp = `${dir}.tmp-${processId()}`;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  sweepDeadWrites(path.dirname(dir));
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    const result = await write(tmp);
    // Trial numbers are never reused, so a folder already there is a dead attempt's leftover.
    fs.rmSync(dir, { recursive: true, force: true });
    if (fs.readdirSync(tmp).length) fs.renameSync(tmp, dir);
    return result;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Removes the unfinished folders of killed processes of this machine (others' are left to them). */
function sweepDeadWrites(folder: string): void {
  for (const name of fs.readdirSync(folder)) {
    const m = TMP_DIR.exec(name);
    if (m && processGoneHere(m[1])) fs.rmSync(path.join(folder, name), { recursive: true, force: true });
  }
}

/** Drops trial N's files: the trial was failed (by another worker) while this one wrote them. */
export function removeTrialArtifacts(root: string, study: string, trial: number): void {
  fs.rmSync(trialArtifactDir(root, study, trial), { recursive: true, force: true });
}

/** Trial number -> the names of its files, for every trial of `study` that has any under `root`. */
export function listTrialArtifacts(root: string, study: string): Map<number, string[]> {
  const found = new Map<number, string[]>();
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(studyDir(root, study), { withFileTypes: true });
  } catch {
    return found; // No folder yet: no trial has finished with files.
  }
  for (const e of entries) {
    const m = TRIAL_DIR.exec(e.name);
    if (!m || !e.isDirectory()) continue;
    const files = fs.readdirSync(path.join(root, study, e.name), { withFileTypes: true })
      .filter((f) => f.isFile() && FILE_NAME.test(f.name) && !f.name.includes('.tmp-')).map((f) => f.name).sort();
    if (files.length) found.set(Number(m[1]), files);
  }
  return found;
}

/**
 * The path of one listed file of trial N, or undefined when there is no such file: the name must be
 * one `listTrialArtifacts` gives, so no request reaches outside the trial's folder.
 */
export function trialArtifactFile(root: string, study: string, trial: number, name: string): string | undefined {
  if (!FILE_NAME.test(name) || name.includes('.tmp-')) return undefined;
  const file = path.join(trialArtifactDir(root, study, trial), name);
  try {
    return fs.lstatSync(file).isFile() ? file : undefined; // lstat: a link is not served, as it is not listed
  } catch {
    return undefined;
  }
}
