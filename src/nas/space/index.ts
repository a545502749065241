import { createRegistry } from '../../core/index.js';
import { nb101Space } from './nb101.js';
import { nb201Space } from './nb201.js';
import type { SearchSpace } from './types.js';

export type { Architecture, CellGraph, Decision, SearchSpace } from './types.js';
export { NB201_OPS, NB201_EDGES, nb201Ops, nb201Space, type Nb201Op } from './nb201.js';
export { NB101_OPS, NB101_NODES, NB101_MAX_EDGES, nb101Space, nb101Cell, nb101FromCell, nb101GraphHash, nb101Pruned, type Nb101Cell } from './nb101.js';

/** Search spaces by name ('nb201', 'nb101'); later issues add MLP-width and detection spaces. */
export const spaces = createRegistry<SearchSpace>('search space');
spaces.register('nb201', nb201Space, nb201Space.description);
spaces.register('nb101', nb101Space, nb101Space.description);

export function getSpace(name: string): SearchSpace {
  return spaces.get(name);
}
