/** HTTP entry points: the StoryBench human-rating app and the study dashboard. */
export { startRatingApp, buildComparisons, type RatingApp, type RatingAppOptions, type RatingPair } from './rating-app.js';
export { startDashboard, type DashboardOptions } from './dashboard.js';
export type { RunningServer } from './http.js';
