/**
 * The rating app's single page: plain HTML, CSS and a small script that asks the server for the
 * rater's next comparison, plays both videos on one shared timeline (play/pause, frame steps, a
 * scrubber, a segment bar with the current prompt highlighted), and posts the answers. Keyboard
 * shortcuts are listed on the page. The submit button stays disabled until every question is
 * answered and the item has been on screen for the minimum time, and is disabled again while a
 * judgement is being stored, so a double click cannot submit twice (the database refuses it anyway).
 * The layout stacks the videos on a narrow window instead of clipping them.
 */
export function ratingPage(questions: readonly { key: string; label: string }[]): string {
  const q = JSON.stringify(questions);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StoryBench rating</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#222}
header{background:#2d3a4a;color:#fff;padding:.6em 1.2em;display:flex;flex-wrap:wrap;gap:.3em 1em;align-items:center}
header h1{font-size:1.1em;margin:0;flex:1 1 16em}main{max-width:70em;margin:1em auto;padding:0 1em}
.videos{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,15em),1fr));gap:1em 1.5em}
.videos figure{margin:0;text-align:center;min-width:0}
.videos canvas{image-rendering:pixelated;border:1px solid #999;background:#000;width:100%;max-height:60vh;object-fit:contain;display:block}
figcaption{font-weight:600;margin-top:.3em}
.player{background:#fff;border:1px solid #ddd;padding:.5em .8em;margin:.8em 0}
.controls{display:flex;flex-wrap:wrap;gap:.4em;align-items:center}
.controls button{min-width:2.6em}#scrub{flex:1 1 10em;min-width:8em}#clock{font-variant-numeric:tabular-nums;min-width:7em}
#segments{display:flex;height:1.6em;margin-top:.4em;border:1px solid #bbb}
#segments div{border-right:1px solid #fff;background:#c9d3de;color:#333;font-size:.8em;text-align:center;overflow:hidden;white-space:nowrap;line-height:1.9em}
#segments div.now{background:#2d6cdf;color:#fff;font-weight:600}
ol.prompts{background:#fff;border:1px solid #ddd;padding:.6em 2em}
ol.prompts li.now{background:#e3edff;font-weight:600;outline:2px solid #2d6cdf}
fieldset{border:1px solid #ddd;background:#fff;margin:.5em 0;padding:.4em .8em}
fieldset.next{border-color:#2d6cdf;box-shadow:0 0 0 2px #c6d8ff}
legend{font-weight:600}label{margin-right:1.2em;cursor:pointer;display:inline-block}
button{font-size:1em;padding:.4em 1.2em}#msg{color:#a00;min-height:1.4em}
#login{background:#fff;border:1px solid #ddd;padding:1em;max-width:28em;margin:2em auto}
#keys{font-size:.9em;color:#444}#keys kbd{border:1px solid #aaa;border-radius:3px;padding:0 .3em;background:#fff;font-family:inherit}
</style></head><body>
<header><h1>StoryBench: which video tells the story better?</h1><span id="who"></span><span id="progress"></span></header>
<main>
<form id="login"><p>Enter your rater name. You can stop at any time; entering the same name later resumes where you left off.</p>
<input id="rater" name="rater" required maxlength="64" autocomplete="username">
<button type="submit" id="start">Start rating</button></form>
<div id="rate" hidden>
<div class="videos"><figure><canvas id="left" aria-label="video A"></canvas><figcaption>Video A</figcaption></figure>
<figure><canvas id="right" aria-label="video B"></canvas><figcaption>Video B</figcaption></figure></div>
<div class="player">
<div class="controls">
<button type="button" id="play" title="play / pause (Space)">Pause</button>
<button type="button" id="back" title="previous frame (Left arrow)">&#9664;</button>
<button type="button" id="fwd" title="next frame (Right arrow)">&#9654;</button>
<input type="range" id="scrub" min="0" value="0" step="1" aria-label="frame">
<span id="clock"></span>
</div>
<div id="segments" aria-label="segments"></div>
</div>
<p>Both videos tell this story, one prompt per segment (8 frames per second); the segment playing now is highlighted:</p>
<ol class="prompts" id="prompts"></ol>
<p id="keys">Keys: <kbd>Space</kbd> play/pause, <kbd>&larr;</kbd>/<kbd>&rarr;</kbd> previous/next frame, <kbd>Home</kbd> first frame,
<kbd>A</kbd> Video A, <kbd>T</kbd> about the same, <kbd>B</kbd> Video B (for the highlighted question), <kbd>Enter</kbd> submit.</p>
<form id="answers"></form>
<p id="msg" role="alert"></p>
<button id="submit" form="answers" type="submit" disabled>Submit and show next</button>
</div>
<p id="done" hidden>All comparisons are rated. Thank you!</p>
</main>
<script>
const QUESTIONS = ${q};
const CHOICES = [['a', 'Video A'], ['tie', 'About the same'], ['b', 'Video B']];
let rater = '', current = null, busy = false, minSeconds = 0, shownAt = 0;
const player = { frame: 0, total: 0, playing: true, timer: null, strips: [] };
const $ = (id) => document.getElementById(id);
function group(name, legend) {
  const fs = document.createElement('fieldset');
  fs.dataset.name = name;
  const lg = document.createElement('legend'); lg.textContent = legend; fs.appendChild(lg);
  for (const [value, text] of CHOICES) {
    const l = document.createElement('label');
    const r = document.createElement('input'); r.type = 'radio'; r.name = name; r.value = value; r.required = true;
    l.appendChild(r); l.append(' ' + text); fs.appendChild(l);
  }
  return fs;
}
const unanswered = () => [...$('answers').querySelectorAll('fieldset')].filter((f) => !f.querySelector('input:checked'));
const complete = () => unanswered().length === 0;
const waited = () => (Date.now() - shownAt) / 1000 >= minSeconds;
function refresh() {
  const left = Math.max(0, Math.ceil(minSeconds - (Date.now() - shownAt) / 1000));
  $('submit').disabled = busy || !complete() || left > 0;
  $('submit').textContent = left > 0 ? 'Submit and show next (in ' + left + ' s)' : 'Submit and show next';
  const todo = unanswered();
  document.querySelectorAll('fieldset.next').forEach((f) => f.classList.remove('next'));
  if (todo.length) todo[0].classList.add('next');
}
setInterval(() => { if (current) refresh(); }, 250);
function segmentAt(frame) {
  let end = 0;
  for (let i = 0; i < current.frames.length; i++) { end += current.frames[i]; if (frame < end) return i; }
  return current.frames.length - 1;
}
function draw() {
  if (!current) return;
  for (const [i, id] of ['left', 'right'].entries()) {
    const img = player.strips[i];
    if (!img || !img.complete || !img.naturalWidth) continue;
    const c = $(id).getContext('2d');
    c.imageSmoothingEnabled = false;
    c.drawImage(img, 0, player.frame * current.height, current.width, current.height, 0, 0, current.width, current.height);
  }
  $('scrub').value = String(player.frame);
  $('clock').textContent = 'frame ' + (player.frame + 1) + ' / ' + player.total;
  const seg = segmentAt(player.frame);
  document.querySelectorAll('#segments div').forEach((d, i) => d.classList.toggle('now', i === seg));
  document.querySelectorAll('#prompts li').forEach((d, i) => d.classList.toggle('now', i === seg));
}
function setPlaying(on) {
  player.playing = on;
  $('play').textContent = on ? 'Pause' : 'Play';
  clearInterval(player.timer);
  if (on) player.timer = setInterval(() => { player.frame = (player.frame + 1) % player.total; draw(); }, 1000 / current.fps);
}
function seek(frame) { setPlaying(false); player.frame = Math.max(0, Math.min(player.total - 1, frame)); draw(); }
async function load() {
  const res = await fetch('/api/next?rater=' + encodeURIComponent(rater));
  const body = await res.json();
  if (!res.ok) { $('msg').textContent = body.error; return; }
  $('progress').textContent = body.progress.rated + ' / ' + body.progress.total + ' rated';
  if (body.done) { clearInterval(player.timer); current = null; $('rate').hidden = true; $('done').hidden = false; return; }
  current = body.comparison; minSeconds = body.minSeconds; shownAt = Date.now();
  player.total = current.frames.reduce((a, b) => a + b, 0); player.frame = 0;
  for (const id of ['left', 'right']) { $(id).width = current.width; $(id).height = current.height; }
  player.strips = [current.left, current.right].map((src) => { const img = new Image(); img.onload = draw; img.src = src; return img; });
  $('scrub').max = String(player.total - 1);
  const bar = $('segments'); bar.textContent = '';
  current.frames.forEach((n, i) => { const d = document.createElement('div'); d.style.flex = String(n); d.textContent = String(i + 1); d.title = current.texts[i]; bar.appendChild(d); });
  const ol = $('prompts'); ol.textContent = '';
  current.texts.forEach((t, i) => { const li = document.createElement('li'); li.textContent = t + ' (' + current.frames[i] + ' frames)'; ol.appendChild(li); });
  const form = $('answers'); form.textContent = '';
  current.texts.forEach((t, i) => form.appendChild(group('text_' + i, 'Text adherence, segment ' + (i + 1) + ': which video follows "' + t + '" better?')));
  for (const q of QUESTIONS) form.appendChild(group(q.key, q.label));
  $('msg').textContent = ''; busy = false;
  setPlaying(true); draw(); refresh();
}
$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  rater = $('rater').value.trim();
  if (!rater) return;
  $('login').hidden = true; $('rate').hidden = false; $('who').textContent = 'Rater: ' + rater;
  load();
});
// Clicking a control keeps the focus where it was, so Space stays play/pause instead of pressing the last button again.
document.querySelectorAll('.controls button').forEach((b) => b.addEventListener('mousedown', (e) => e.preventDefault()));
$('play').addEventListener('click', () => setPlaying(!player.playing));
$('back').addEventListener('click', () => seek(player.frame - 1));
$('fwd').addEventListener('click', () => seek(player.frame + 1));
$('scrub').addEventListener('input', () => seek(Number($('scrub').value)));
$('answers').addEventListener('change', refresh);
async function submit() {
  if (busy || !complete() || !waited()) return;
  busy = true; refresh();
  const form = new FormData($('answers'));
  const answers = { text_adherence: current.texts.map((_, i) => form.get('text_' + i)) };
  for (const q of QUESTIONS) answers[q.key] = form.get(q.key);
  const res = await fetch('/api/judgements', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rater, comparison: current.index, answers }) });
  if (res.ok || res.status === 409) { await load(); }
  else { const body = await res.json(); $('msg').textContent = body.error; busy = false; refresh(); }
}
$('answers').addEventListener('submit', (e) => { e.preventDefault(); submit(); });
document.addEventListener('keydown', (e) => {
  if (!current || $('rate').hidden || e.ctrlKey || e.metaKey || e.altKey || e.target.tagName === 'INPUT' && e.target.type !== 'radio' && e.target.type !== 'range') return;
  const key = e.key.toLowerCase();
  if (key === ' ') { e.preventDefault(); setPlaying(!player.playing); }
  else if (key === 'arrowleft') { e.preventDefault(); seek(player.frame - 1); }
  else if (key === 'arrowright') { e.preventDefault(); seek(player.frame + 1); }
  else if (key === 'home') { e.preventDefault(); seek(0); }
  else if (key === 'a' || key === 't' || key === 'b') {
    const next = unanswered()[0];
    if (!next) return;
    next.querySelector('input[value="' + (key === 't' ? 'tie' : key) + '"]').checked = true;
    refresh();
  } else if (key === 'enter') { e.preventDefault(); submit(); }
});
</script>
</body></html>
`;
}
