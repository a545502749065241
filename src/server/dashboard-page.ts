import { PLOT_COLORS, escapeXml } from './dashboard-plots.js';

/**
 * The dashboard's single page: plain HTML and CSS and a small script that polls the JSON
 * endpoints, fills the studies list, the selected study's counters, its two server-drawn plots
 * and a sortable trial table. Text from the storage only ever enters the page as textContent;
 * the plots arrive as SVG the server escaped.
 */
export function dashboardPage(o: { storage: string; pollMs: number }): string {
  const c = PLOT_COLORS;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kiln dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1f2328}
header{background:#2d3a4a;color:#fff;padding:.55em 1.2em;display:flex;gap:1.2em;align-items:baseline;flex-wrap:wrap}
header h1{font-size:1.1em;margin:0}header .storage{font-family:ui-monospace,monospace;opacity:.85;flex:1;overflow-wrap:anywhere}
#status.error{color:#ffb4a8;font-weight:600}
main{max-width:82em;margin:0 auto;padding:.6em 1.2em 2em}
h2{font-size:1.15em;margin:1em 0 .4em}h3{font-size:1em;margin:0 0 .4em}
.box{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.8em 1em;margin-bottom:1em}
.scroll{overflow:auto;max-height:30em;border:1px solid #d8dde3;border-radius:6px;background:#fff}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:.3em .7em;text-align:left;white-space:nowrap;border-bottom:1px solid #eef0f3}
th{background:#eef1f5;position:sticky;top:0;z-index:1}
td.num,th.num{text-align:right}
td.arch,td.worker{font-family:ui-monospace,monospace;font-size:.92em}td.worker{white-space:nowrap}#workers-title{margin:1em 0 .4em}
td.status.infeasible,td.status.not-evaluable{color:#6b7280}td.status.failed{color:#b42318}td.status.running{color:#0b57d0}
td.error{color:#8a4b00;max-width:28em;overflow:hidden;text-overflow:ellipsis}
td.files{white-space:nowrap}td.files a{color:#0b57d0;margin-right:.6em}
#study-list tbody tr{cursor:pointer}#study-list tbody tr:hover{background:#f3f7ff}
#study-list tr.selected{background:#e4eeff}
#study-list a{color:#0b57d0;text-decoration:none;font-weight:600}
th button{all:unset;cursor:pointer;font-weight:600}th button:focus-visible{outline:2px solid #0b57d0}
th[aria-sort=ascending] button::after{content:" \\25B2";font-size:.75em}th[aria-sort=descending] button::after{content:" \\25BC";font-size:.75em}
.spec{color:#444;margin:.2em 0 .7em;overflow-wrap:anywhere}
.counts{display:flex;flex-wrap:wrap;gap:.6em;margin:.2em 0}
.count{border:1px solid #d8dde3;border-radius:6px;padding:.35em .8em;min-width:6.5em;background:#fafbfc}
.count b{display:block;font-size:1.45em;line-height:1.2}.count span{color:#555;font-size:.9em}
.count.evaluated b{color:#1a7f37}.count.failed b{color:#b42318}.count.running b{color:#0b57d0}
.note{color:#666;font-size:.9em;margin:.5em 0 0}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(26em,1fr));gap:1em}
.plots figure{margin:0}.plots svg{width:100%;height:auto;display:block}
.plot-head{display:flex;gap:.6em;align-items:baseline;flex-wrap:wrap}
.legend{display:flex;flex-wrap:wrap;gap:.4em 1.2em;font-size:.9em;color:#333;margin:.3em 0 0;padding:0;list-style:none}
.legend li{display:flex;align-items:center;gap:.4em}.legend li[hidden]{display:none}
.sw{display:inline-block;width:18px;height:10px}
.sw.dot::before{content:"";display:block;width:8px;height:8px;margin:1px 5px;border-radius:50%;background:var(--c)}
.sw.line{border-top:2.5px solid var(--c);height:0;margin-top:2px}
.sw.dash{border-top:2px dashed var(--c);height:0;margin-top:2px}
circle[data-trial]{cursor:pointer}
tr.hit{background:#fff3c4!important}
.empty{color:#666;padding:.6em 1em}
</style></head><body>
<header><h1>Kiln dashboard</h1><span class="storage">${escapeXml(o.storage)}</span><span id="status" role="status">loading…</span></header>
<main>
<h2>Studies</h2>
<div class="scroll" id="studies-box"><table id="study-list"><thead><tr>
<th>Study</th><th>Space / controller</th><th>Objective</th><th class="num">Evaluated</th><th class="num">Infeasible</th>
<th class="num">Failed</th><th class="num">Running</th><th class="num">Workers</th><th class="num">Best</th><th>Last activity</th></tr></thead><tbody></tbody></table>
<p class="empty" id="no-studies" hidden>No studies in this storage yet; they appear here once a search starts.</p></div>
<section id="study" hidden>
<h2 id="study-name"></h2>
<div class="box">
<p class="spec" id="study-spec"></p>
<div class="counts">
<div class="count evaluated"><b id="n-evaluated">0</b><span>evaluated<span id="of-budget"></span></span></div>
<div class="count"><b id="n-infeasible">0</b><span>infeasible</span></div>
<div class="count"><b id="n-notEvaluable">0</b><span>not evaluable</span></div>
<div class="count failed"><b id="n-failed">0</b><span>failed</span></div>
<div class="count running"><b id="n-running">0</b><span>running</span></div>
<div class="count"><b id="n-total">0</b><span>trials in all</span></div>
</div>
<p class="note">Infeasible trials broke a constraint: one on a cost (never evaluated, no objective value) or one on an outcome such as accuracy (evaluated and counted against the budget, kept out of the plots).
A failed trial of a worker that stopped sending heartbeats is retried by another worker.</p>
<h3 id="workers-title">Workers</h3>
<div class="scroll"><table id="workers"><thead><tr><th>Worker</th><th class="num">Evaluated</th><th class="num">Infeasible</th>
<th class="num">Not evaluable</th><th class="num">Failed</th><th class="num">Running</th><th>Last activity</th></tr></thead><tbody></tbody></table></div>
</div>
<div class="plots">
<figure class="box"><div class="plot-head"><h3>Best so far</h3></div><div id="curve"></div>
<ul class="legend"><li><span class="sw dot" style="--c:${c.trials}"></span>each evaluation</li>
<li><span class="sw line" style="--c:${c.best}"></span>best feasible so far</li></ul></figure>
<figure class="box"><div class="plot-head"><h3 id="scatter-title">Objective vs cost</h3>
<label>cost <select id="cost"></select></label></div><div id="scatter"></div>
<ul class="legend"><li><span class="sw dot" style="--c:${c.points}"></span>evaluated trial</li>
<li><span class="sw line" style="--c:${c.front}"></span><span id="front-label">Pareto front</span></li>
<li id="constraint-key"><span class="sw dash" style="--c:${c.guide}"></span>constraint</li></ul>
<p class="note" id="scatter-note"></p></figure>
</div>
<h2 id="trials-title">Trials</h2>
<div class="scroll" id="trials-box"><table id="trials"><thead></thead><tbody></tbody></table></div>
</section>
</main>
<script>
const POLL_MS = ${Number(o.pollMs)};
const $ = (id) => document.getElementById(id);
const state = { study: null, cost: null, sort: { key: 'number', dir: 1 }, shown: '' };
let view = null;

function fmt(v) {
  if (v === null || v === undefined) return '\\u2013';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 0.01 ? String(+v.toFixed(4)) : v.toPrecision(3);
}
const time = (iso) => iso ? new Date(iso).toLocaleTimeString() : '\\u2013';
function cell(tr, text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td; }
function selectedFromHash() { const m = /^#study=(.*)$/.exec(location.hash); return m ? decodeURIComponent(m[1]) : null; }

function renderStudies(list) {
  const body = $('study-list').tBodies[0];
  body.textContent = '';
  $('no-studies').hidden = list.length > 0;
  for (const s of list) {
    const tr = document.createElement('tr');
    tr.dataset.study = s.name;
    if (s.name === state.study) tr.className = 'selected';
    const a = document.createElement('a'); a.href = '#study=' + encodeURIComponent(s.name); a.textContent = s.name;
    tr.appendChild(document.createElement('td')).appendChild(a);
    cell(tr, s.space + ' / ' + s.controller);
    cell(tr, s.direction + ' ' + s.objective);
    cell(tr, String(s.counts.evaluated) + (s.budget !== null ? ' / ' + s.budget : ''), 'num');
    for (const k of ['infeasible', 'failed', 'running']) cell(tr, String(s.counts[k]), 'num');
    cell(tr, String(s.workerCount), 'num');
    cell(tr, s.best ? fmt(s.best.value) + ' (trial ' + s.best.number + ')' : '\\u2013', 'num');
    cell(tr, time(s.updatedAt));
    tr.addEventListener('click', () => { location.hash = 'study=' + encodeURIComponent(s.name); });
    body.appendChild(tr);
  }
}

function columns(v) {
  return [
    { key: 'number', label: '#', num: true, get: (t) => t.number },
    { key: 'status', label: 'state', get: (t) => t.status },
    { key: 'value', label: v.objective, num: true, get: (t) => t.value },
    ...v.costMetrics.map((m) => ({ key: 'metric:' + m, label: m, num: true, get: (t) => (typeof t.metrics[m] === 'number' ? t.metrics[m] : null) })),
    { key: 'worker', label: 'worker', get: (t) => t.worker, cls: 'worker' },
    ...(v.trials.some((t) => t.artifacts.length) ? [{ key: 'artifacts', label: 'files', get: (t) => t.artifacts.length || null, links: true, cls: 'files' }] : []),
    // The long architecture strings come after the numbers, so those show without scrolling.
    { key: 'arch', label: 'architecture', get: (t) => t.arch, cls: 'arch' },
    { key: 'error', label: 'note', get: (t) => t.error, cls: 'error' },
  ];
}

/** A cell linking to each file the trial kept (its model, plots, report), served under /artifacts/. */
function fileLinks(study, t) {
  const td = document.createElement('td');
  td.className = 'files';
  for (const name of t.artifacts) {
    const a = document.createElement('a');
    a.href = '/artifacts/' + [study, String(t.number), name].map(encodeURIComponent).join('/');
    a.textContent = name; a.target = '_blank'; a.rel = 'noopener';
    td.appendChild(a);
  }
  return td;
}

function renderTrials(v) {
  const study = v.name;
  const cols = columns(v);
  const col = cols.find((c) => c.key === state.sort.key) || cols[0];
  const sign = state.sort.dir;
  // Missing values sort last in either direction.
  const rows = [...v.trials].sort((a, b) => {
    const x = col.get(a), y = col.get(b);
    if (x === null || x === undefined) return (y === null || y === undefined) ? a.number - b.number : 1;
    if (y === null || y === undefined) return -1;
    return (typeof x === 'number' ? x - y : String(x).localeCompare(String(y))) * sign || a.number - b.number;
  });
  const head = document.createElement('tr');
  for (const c of cols) {
    const th = document.createElement('th');
    th.dataset.key = c.key;
    if (c.num) th.className = 'num';
    th.setAttribute('aria-sort', c.key === col.key ? (sign > 0 ? 'ascending' : 'descending') : 'none');
    const b = document.createElement('button'); b.type = 'button'; b.textContent = c.label; b.title = 'sort by ' + c.label;
    b.addEventListener('click', () => {
      state.sort = { key: c.key, dir: state.sort.key === c.key ? -state.sort.dir : (c.num ? -1 : 1) };
      renderTrials(view);
    });
    th.appendChild(b); head.appendChild(th);
  }
  $('trials').tHead.replaceChildren(head);
  const body = document.createElement('tbody');
  for (const t of rows) {
    const tr = document.createElement('tr');
    tr.dataset.trial = String(t.number);
    for (const c of cols) {
      const v = c.get(t);
      if (c.links) {
        tr.appendChild(fileLinks(study, t));
        continue;
      }
      const td = cell(tr, c.num ? fmt(v) : (v === null ? '' : String(v)), c.num ? 'num' : c.key === 'status' ? 'status ' + v.replace(' ', '-') : c.cls);
      if (c.key === 'error' && v) td.title = v;
    }
    body.appendChild(tr);
  }
  if (!rows.length) {
    const td = cell(body.insertRow(), 'No trials yet.', 'empty');
    td.colSpan = cols.length;
  }
  $('trials').tBodies[0].replaceWith(body);
  $('trials-title').textContent = 'Trials (' + v.trials.length + ')';
}

function renderWorkers(list) {
  const body = document.createElement('tbody');
  for (const w of list) {
    const tr = body.insertRow();
    tr.dataset.worker = w.worker === null ? '' : w.worker;
    cell(tr, w.worker === null ? '(no worker recorded)' : w.worker, 'worker');
    for (const k of ['evaluated', 'infeasible', 'notEvaluable', 'failed', 'running']) cell(tr, String(w.counts[k]), 'num');
    cell(tr, time(w.lastActivity));
  }
  if (!list.length) cell(body.insertRow(), 'No trials yet.', 'empty').colSpan = 7;
  $('workers').tBodies[0].replaceWith(body);
  $('workers-title').textContent = 'Workers (' + list.filter((w) => w.worker !== null).length + ')';
}

function renderStudy(v) {
  view = v;
  $('study').hidden = false;
  $('study-name').textContent = v.name;
  const s = v.spec;
  $('study-spec').textContent = [
    s.direction + ' ' + s.objective,
    'constraints ' + (s.constraints.length ? s.constraints.join(', ') : 'none'),
    'space ' + s.space, 'controller ' + s.controller + ' (seed ' + s.seed + ')',
    'evaluator ' + s.evaluator + (s.table ? ' on ' + s.table : ''),
    'created ' + new Date(v.createdAt).toLocaleString(),
    'last activity ' + time(v.updatedAt),
  ].join(' \\u00b7 ');
  for (const k of Object.keys(v.counts)) { const el = $('n-' + k); if (el) el.textContent = String(v.counts[k]); }
  $('of-budget').textContent = v.budget !== null ? ' of ' + v.budget : '';
  renderWorkers(v.workers);
  $('curve').innerHTML = v.curveSvg;
  $('scatter').innerHTML = v.scatterSvg;
  $('scatter-title').textContent = v.objective + ' vs cost';
  const sel = $('cost');
  if ([...sel.options].map((x) => x.value).join('\\n') !== v.costMetrics.join('\\n')) {
    sel.replaceChildren(...v.costMetrics.map((m) => new Option(m, m)));
  }
  sel.value = v.cost || '';
  sel.disabled = !v.costMetrics.length;
  // The key names a constraint line only when one is drawn on this cost axis.
  $('constraint-key').hidden = !v.scatterSvg.includes('class="constraint"');
  $('front-label').textContent = 'Pareto front (' + v.front.length + ' of ' + v.plotted.length + ' trials)';
  const notes = [];
  if (v.counts.infeasible) notes.push(v.counts.infeasible + ' infeasible trials have no objective and are not drawn.');
  if (v.unplotted) notes.push(v.unplotted + ' evaluated trials lack ' + v.cost + ' and are not drawn.');
  $('scatter-note').textContent = notes.join(' ');
  const shown = JSON.stringify([v.name, v.cost, v.counts, v.updatedAt]);
  if (shown !== state.shown) { state.shown = shown; renderTrials(v); }
}

async function getJson(url) {
  const res = await fetch(url, { cache: 'no-store' });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

let timer = null;
async function refresh() {
  clearTimeout(timer);
  try {
    const list = await getJson('/api/studies');
    const wanted = selectedFromHash();
    state.study = wanted !== null ? wanted : (list.length ? list[list.length - 1].name : null);
    renderStudies(list);
    if (state.study !== null) {
      const q = '/api/study?name=' + encodeURIComponent(state.study) + (state.cost ? '&cost=' + encodeURIComponent(state.cost) : '');
      renderStudy(await getJson(q));
    } else $('study').hidden = true;
    $('status').textContent = 'updated ' + new Date().toLocaleTimeString();
    $('status').className = '';
  } catch (e) {
    $('status').textContent = 'cannot read the storage: ' + e.message + ' (retrying)';
    $('status').className = 'error';
  }
  timer = setTimeout(refresh, POLL_MS);
}

window.addEventListener('hashchange', () => { state.cost = null; state.shown = ''; refresh(); });
$('cost').addEventListener('change', (e) => { state.cost = e.target.value; refresh(); });
document.querySelector('.plots').addEventListener('click', (e) => {
  const dot = e.target.closest('[data-trial]');
  if (!dot) return;
  const tr = document.querySelector('#trials tr[data-trial="' + CSS.escape(dot.dataset.trial) + '"]');
  if (!tr) return;
  tr.scrollIntoView({ block: 'center' });
  tr.classList.add('hit');
  setTimeout(() => tr.classList.remove('hit'), 1500);
});
refresh();
</script>
</body></html>
`;
}
