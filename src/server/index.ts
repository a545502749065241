/** HTTP entry points: the StoryBench human-rating app. */
export { startRatingApp, buildComparisons, type RatingAppOptions, type Comparison } from './rating-app.js';
export { clipToGif } from './gif.js';
