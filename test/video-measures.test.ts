import test from 'node:test';
import assert from 'node:assert/strict';
import { concatFrames, repeatFrame, sliceFrames, pickFrames } from '../src/media/index.js';
import { measureSegment, trackActor, promptFor, renderStory, MIN_AREA, type Action, type ObjectState, type Shape, type Story } from '../src/video/index.js';

const FRAMES = 12;

function object(shape: Shape, colour: string, x: number, y: number, size = 4): ObjectState {
  return { shape, colour, x, y, size, angle: 0, alpha: 1 };
}

/** One segment of `objects[0]` doing `action` on `background`, rendered by the world's own renderer. */
function clipOf(action: Action, objects: ObjectState[], background = 'gray', toColour?: string) {
  const o = objects[0];
  const segment = { actor: 0, action, toColour, frames: FRAMES, prompt: promptFor(true, o.colour, o.shape, action, toColour), shape: o.shape, colour: o.colour };
  const story: Story = { id: 'm', split: 'test', background, objects, segments: [segment] };
  return { clip: renderStory(story), segment };
}

test('on rendered ground truth every measure holds, on every background and shape', () => {
  const cases: [Action, ObjectState, string?][] = [
    ['move-left', object('triangle', 'red', 20, 16)], ['move-right', object('square', 'green', 10, 16)],
    ['move-up', object('circle', 'blue', 16, 22)], ['move-down', object('square', 'yellow', 16, 9)],
    ['jump', object('circle', 'white', 16, 20)], ['grow', object('square', 'red', 16, 16)],
    ['shrink', object('triangle', 'yellow', 16, 16, 5)], ['change-colour', object('circle', 'green', 16, 16), 'blue'],
    ['rotate', object('square', 'blue', 16, 16)],
  ];
  for (const background of ['black', 'gray', 'dark blue', 'dark green']) {
    for (const [action, o, to] of cases) {
      const { clip, segment } = clipOf(action, [o], background, to);
      const m = measureSegment(clip, segment);
      const what = `${action} on ${background}`;
      assert.equal(m.visibleFrames, FRAMES, what);
      assert.equal(m.colour, true, what);
      if (action.startsWith('move') || action === 'jump') assert.equal(m.motion, true, what);
      else assert.equal(m.motion, null, what);
      if (action === 'grow' || action === 'shrink') assert.equal(m.size, true, what);
      else assert.equal(m.size, null, what);
      // Travel is measured first to last frame: 11 px over the segment, 11/12 of it between its first and last frames.
      if (action.startsWith('move')) assert.ok(Math.abs(m.travel! - (11 * (FRAMES - 1)) / FRAMES) < 0.6, `${what}: travel ${m.travel}`);
    }
  }
});

test('a still, reversed or recoloured clip fails the measures the prompt calls for', () => {
  const { clip, segment } = clipOf('move-right', [object('square', 'red', 10, 16)]);
  const still = repeatFrame(clip, 0, FRAMES);
  const stillMeasure = measureSegment(still, segment);
  assert.equal(stillMeasure.motion, false);
  assert.equal(stillMeasure.travel, 0);
  assert.equal(stillMeasure.visibleFrames, FRAMES, 'a still object is still visible');
  const reversed = pickFrames(clip, Array.from({ length: FRAMES }, (_, i) => FRAMES - 1 - i));
  const back = measureSegment(reversed, segment);
  assert.equal(back.motion, false);
  assert.ok(back.travel! < -9, `travel ${back.travel}`);
  assert.equal(measureSegment(clip, { ...segment, colour: 'blue' }).colour, false, 'a red square is not blue');
  const grow = clipOf('grow', [object('circle', 'white', 16, 16)]);
  assert.equal(measureSegment(grow.clip, { ...grow.segment, action: 'shrink' }).size, false, 'growing is not shrinking');
  assert.equal(measureSegment(repeatFrame(grow.clip, 0, FRAMES), grow.segment).size, false);
  const turn = clipOf('change-colour', [object('circle', 'green', 16, 16)], 'black', 'red');
  assert.equal(measureSegment(turn.clip, { ...turn.segment, toColour: 'yellow' }).colour, false, 'turning red is not turning yellow');
  const jump = clipOf('jump', [object('circle', 'blue', 16, 20)]);
  assert.equal(measureSegment(repeatFrame(jump.clip, 0, FRAMES), jump.segment).motion, false);
});

test('an empty frame shows no object, and disappearing leaves the last frames empty', () => {
  const { clip, segment } = clipOf('disappear', [object('square', 'yellow', 16, 16)], 'dark blue');
  const m = measureSegment(clip, segment);
  assert.ok(m.visibleFrames >= FRAMES - 2 && m.visibleFrames < FRAMES, `${m.visibleFrames} visible frames`);
  const track = trackActor(clip);
  assert.ok(track[FRAMES - 1].area < MIN_AREA && track[0].area > 30);
  const blank = repeatFrame(clip, FRAMES - 1, 4);
  assert.equal(measureSegment(blank, segment).visibleFrames, 0);
});

test('with a second, still object the track follows the one that acts', () => {
  const actor = object('circle', 'blue', 8, 10);
  const still = object('triangle', 'yellow', 22, 22, 5);
  const { clip, segment } = clipOf('move-right', [actor, still], 'black');
  const track = trackActor(clip);
  // The first frame is 1/12 of the way: the centroid sits at x + 11/12, y (pixel centres at +0.5).
  assert.ok(Math.abs(track[0].cx + 0.5 - (actor.x + 11 / FRAMES)) < 0.3 && Math.abs(track[0].cy + 0.5 - actor.y) < 0.3, `${track[0].cx}, ${track[0].cy}`);
  assert.equal(track[0].colour, 'blue');
  const m = measureSegment(clip, segment);
  assert.equal(m.motion, true);
  assert.equal(m.colour, true, 'the still yellow triangle does not colour the moving blue circle');
  // Frozen after the first frames, the actor no longer moves the named way enough.
  const frozen = concatFrames([sliceFrames(clip, 0, 1), repeatFrame(clip, 0, FRAMES - 1)]);
  assert.equal(measureSegment(frozen, segment).motion, false);
});

test('the soft outline numbers tell square, circle and triangle apart at every size and angle', () => {
  for (const size of [2.5, 3.5, 5, 8]) {
    for (const angle of [0, 0.4, Math.PI / 4]) {
      const read = (shape: Shape) => {
        const { clip } = clipOf('move-down', [{ ...object(shape, 'red', 15.3, 9.7, size), angle }]);
        return trackActor(clip)[0].outline;
      };
      const [square, circle, triangle] = [read('square'), read('circle'), read('triangle')];
      const what = `size ${size}, angle ${angle.toFixed(2)}`;
      // Reach (farthest half-covered pixel over sqrt(area)): a circle has the least.
      assert.ok(circle[1] < 0.6 && square[1] > 0.6 && triangle[1] > 0.6, `${what}: reach ${circle[1]} ${square[1]} ${triangle[1]}`);
      // Spread (second moment over area squared): a triangle has the most, a circle the least.
      assert.ok(circle[2] < square[2] && square[2] < 0.175 && triangle[2] > 0.18, `${what}: spread ${circle[2]} ${square[2]} ${triangle[2]}`);
    }
  }
});
