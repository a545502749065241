/**
 * The rating app's single page: plain HTML, CSS and a small script that asks the server for the
 * rater's next comparison, shows both videos and the prompts, and posts the answers. The submit
 * button stays disabled until every question is answered and is disabled again while a judgement
 * is being stored, so a double click cannot submit twice (the database refuses it anyway).
 */
export function ratingPage(questions: readonly { key: string; label: string }[]): string {
  const q = JSON.stringify(questions);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StoryBench rating</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#222}
header{background:#2d3a4a;color:#fff;padding:.6em 1.2em;display:flex;gap:1em;align-items:center}
header h1{font-size:1.1em;margin:0;flex:1}main{max-width:70em;margin:1em auto;padding:0 1em}
.videos{display:flex;gap:1.5em;justify-content:center}.videos figure{margin:0;text-align:center}
.videos img{image-rendering:pixelated;border:1px solid #999;background:#000;height:12em;width:auto;max-width:32em;object-fit:contain}
figcaption{font-weight:600;margin-top:.3em}
ol.prompts{background:#fff;border:1px solid #ddd;padding:.6em 2em}
fieldset{border:1px solid #ddd;background:#fff;margin:.5em 0;padding:.4em .8em}
legend{font-weight:600}label{margin-right:1.2em;cursor:pointer}
button{font-size:1em;padding:.4em 1.2em}#msg{color:#a00;min-height:1.4em}
#login{background:#fff;border:1px solid #ddd;padding:1em;max-width:28em;margin:2em auto}
</style></head><body>
<header><h1>StoryBench: which video tells the story better?</h1><span id="who"></span><span id="progress"></span></header>
<main>
<form id="login"><p>Enter your rater name. You can stop at any time; entering the same name later resumes where you left off.</p>
<input id="rater" name="rater" required maxlength="64" autocomplete="username">
<button type="submit" id="start">Start rating</button></form>
<div id="rate" hidden>
<div class="videos"><figure><img id="left" alt="video A"><figcaption>Video A</figcaption></figure>
<figure><img id="right" alt="video B"><figcaption>Video B</figcaption></figure></div>
<p>The videos tell this story, one prompt per segment (8 frames per second):</p>
<ol class="prompts" id="prompts"></ol>
<form id="answers"></form>
<p id="msg" role="alert"></p>
<button id="submit" form="answers" type="submit" disabled>Submit and show next</button>
</div>
<p id="done" hidden>All comparisons are rated. Thank you!</p>
</main>
<script>
const QUESTIONS = ${q};
const CHOICES = [['a', 'Video A'], ['tie', 'About the same'], ['b', 'Video B']];
let rater = '', current = null, busy = false;
const $ = (id) => document.getElementById(id);
function group(name, legend) {
  const fs = document.createElement('fieldset');
  const lg = document.createElement('legend'); lg.textContent = legend; fs.appendChild(lg);
  for (const [value, text] of CHOICES) {
    const l = document.createElement('label');
    const r = document.createElement('input'); r.type = 'radio'; r.name = name; r.value = value; r.required = true;
    l.appendChild(r); l.append(' ' + text); fs.appendChild(l);
  }
  return fs;
}
function complete() {
  const form = $('answers');
  const names = [...new Set([...form.querySelectorAll('input')].map((i) => i.name))];
  return names.every((n) => form.querySelector('input[name="' + CSS.escape(n) + '"]:checked'));
}
async function load() {
  const res = await fetch('/api/next?rater=' + encodeURIComponent(rater));
  const body = await res.json();
  if (!res.ok) { $('msg').textContent = body.error; return; }
  $('progress').textContent = body.progress.rated + ' / ' + body.progress.total + ' rated';
  if (body.done) { $('rate').hidden = true; $('done').hidden = false; return; }
  current = body.comparison;
  $('left').src = current.left; $('right').src = current.right;
  const ol = $('prompts'); ol.textContent = '';
  current.texts.forEach((t, i) => { const li = document.createElement('li'); li.textContent = t + ' (' + current.frames[i] + ' frames)'; ol.appendChild(li); });
  const form = $('answers'); form.textContent = '';
  current.texts.forEach((t, i) => form.appendChild(group('text_' + i, 'Text adherence, segment ' + (i + 1) + ': which video follows "' + t + '" better?')));
  for (const q of QUESTIONS) form.appendChild(group(q.key, q.label));
  $('submit').disabled = true; $('msg').textContent = ''; busy = false;
}
$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  rater = $('rater').value.trim();
  if (!rater) return;
  $('login').hidden = true; $('rate').hidden = false; $('who').textContent = 'Rater: ' + rater;
  load();
});
$('answers').addEventListener('change', () => { $('submit').disabled = busy || !complete(); });
$('answers').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (busy || !complete()) return;
  busy = true; $('submit').disabled = true;
  const form = new FormData($('answers'));
  const answers = { text_adherence: current.texts.map((_, i) => form.get('text_' + i)) };
  for (const q of QUESTIONS) answers[q.key] = form.get(q.key);
  const res = await fetch('/api/judgements', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rater, comparison: current.index, answers }) });
  if (res.ok || res.status === 409) { await load(); }
  else { const body = await res.json(); $('msg').textContent = body.error; busy = false; $('submit').disabled = !complete(); }
});
</script>
</body></html>
`;
}
