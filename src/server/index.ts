/** HTTP entry points: the StoryBench human-rating app. */
export { startRatingApp, buildComparisons, type RatingAppOptions, type RatingPair } from './rating-app.js';
