// certqd's page: where is this hostname, and why.
// Every string from the API or the URL is untrusted: the DOM is built with createElement and
// textContent only, so markup in a hostname or detail is shown as text and never parsed.
'use strict';

const STATES = ['queued', 'invalid', 'dns_waiting', 'dns_failed', 'throttled', 'requesting',
  'pending', 'attaching', 'active', 'moved', 'failed', 'removing', 'removed'];

// Colour family per state: what a support engineer should feel at a glance.
const KIND = {
  queued: 'work', requesting: 'work', pending: 'work', attaching: 'work',
  active: 'ok', invalid: 'bad', dns_failed: 'bad', failed: 'bad',
  dns_waiting: 'warn', throttled: 'warn', moved: 'warn', removing: 'gone', removed: 'gone',
};

// Meaning and who moves the row on (README "States"), so the answer to "why" is on the page.
const STATE_INFO = {
  queued: ['waiting to be looked at (new, or re-queued)', 'certqd'],
  invalid: ['the row cannot be issued as written; the detail says which name and why', 'the customer or you: fix the row, then set it queued'],
  dns_waiting: ['some name does not point to Azion yet', 'certqd re-checks DNS'],
  dns_failed: ['names still did not point to Azion when certqd gave up re-checking', 'you: re-queue once DNS points to Azion'],
  throttled: ["Let's Encrypt's budget for the registered domain is spent; the detail says until when", 'certqd, when the budget allows'],
  requesting: ['committed before the request leaves; it may or may not have reached Azion', 'certqd (reconciles by name)'],
  pending: ['Azion accepted the request and is issuing', 'certqd polls Azion'],
  attaching: ['certificate active; being put on the row\u2019s workload (the detail says why not yet)', 'certqd'],
  active: ['certificate issued (and served by its workload, when the row names one)', 'certqd watches it'],
  moved: ['was active; its names no longer point to Azion (the detail says where)', 'certqd re-checks; back to active when they point again'],
  failed: ['Azion reported failure or expiry, refused the request, or it stayed pending or unattached too long', 'you: re-queue'],
  removing: ['offboarding in progress', 'certqd'],
  removed: ['offboarded: off the workload, certificate deleted', 'nobody (done)'],
};

const STATUS_EVERY = 5000;
const PROBLEMS_EVERY = 5000;
const CHART_EVERY = 60000;
const DOMAIN_EVERY = 5000;
const SEARCH_DEBOUNCE = 150;
const PAGE = 50;

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function kindOf(state) {
  return Object.prototype.hasOwnProperty.call(KIND, state) ? KIND[state] : 'unknown';
}

function setBadge(b, state) {
  b.className = 'badge k-' + kindOf(state);
  b.textContent = state == null ? '—' : String(state);
}

function badge(state) {
  const b = el('span');
  setBadge(b, state);
  return b;
}

function domainHref(host) {
  return '#/domain/' + encodeURIComponent(host);
}

// Four-digit numbers stay bare (1234); bigger ones get separators (12,345) to stay readable.
const grouped = new Intl.NumberFormat('en-US');
function num(n) {
  const v = Number(n);
  if (n === null || n === undefined || !Number.isFinite(v)) return '—';
  return Math.abs(v) >= 10000 ? grouped.format(v) : String(v);
}

function plural(n, one, many) {
  return num(n) + ' ' + (Number(n) === 1 ? one : many);
}

function dec1(v) {
  return (Math.round(v * 10) / 10).toString();
}

// ---- time ---------------------------------------------------------------------------------
// Absolute times are shown in UTC, like certqd's logs and the database, so they can be
// matched without converting time zones; the relative form is for a quick read.

function parseTime(iso) {
  if (typeof iso !== 'string') return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}

function pad(n) { return String(n).padStart(2, '0'); }

function utcText(ms, withDate = true) {
  const d = new Date(ms);
  const hms = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (!withDate) return hms;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${hms}`;
}

function humanSpan(seconds) {
  const s = Math.abs(seconds);
  if (s < 45) return `${Math.round(s)} s`;
  const mins = Math.max(1, Math.round(s / 60));
  if (mins < 60) return `${mins} min`;
  if (mins < 1440) {
    const h = Math.floor(mins / 60);
    const m = mins % 60;
    return m && h < 10 ? `${h} h ${m} min` : `${Math.round(mins / 60)} h`;
  }
  const d = Math.round(s / 86400);
  return `${d} day${d === 1 ? '' : 's'}`;
}

function relative(ms) {
  const diff = (ms - Date.now()) / 1000;
  if (Math.abs(diff) < 5) return 'just now';
  return diff < 0 ? `${humanSpan(diff)} ago` : `in ${humanSpan(diff)}`;
}

// A <time> showing "2026-12-01 05:00:00 UTC · 3 min ago" (or the raw text if unparsable).
function timeEl(iso, opts = {}) {
  const t = el('time', opts.cls || '');
  const ms = parseTime(iso);
  if (ms === null) {
    t.textContent = iso == null ? '—' : String(iso);
    return t;
  }
  t.dateTime = iso;
  t.title = iso;
  const abs = utcText(ms) + ' UTC';
  t.textContent = opts.relativeOnly ? relative(ms) : opts.noRelative ? abs : `${abs} · ${relative(ms)}`;
  if (opts.relativeOnly) t.title = abs;
  return t;
}

function eta(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return '—';
  const s = Number(seconds);
  if (s <= 0) return 'done';
  if (s < 60) return 'under a minute';
  return 'about ' + humanSpan(s);
}

// ---- fetching -----------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

const isAbort = (e) => e && e.name === 'AbortError';

async function api(path, signal) {
  let res;
  try {
    res = await fetch(path, { signal, cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } });
  } catch (e) {
    if (isAbort(e)) throw e;
    throw new ApiError(0, 'certqd is not answering');
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    if (isAbort(e)) throw e;
    // Not JSON (a proxy's error page, say): the status line still says enough.
  }
  if (!res.ok) {
    let msg = body && typeof body.error === 'string' && body.error ? body.error : `HTTP ${res.status}`;
    if (res.status === 401) msg += ' — reload the page to log in';
    throw new ApiError(res.status, msg, res.headers.get('Retry-After'));
  }
  if (!body || typeof body !== 'object') throw new ApiError(res.status, 'certqd answered with something that is not JSON');
  return body;
}

// One banner for every refresh that failed; each source clears its own message on success,
// and the page keeps showing the last data it got.
const errors = new Map();
function setError(source, message) {
  if (message) errors.set(source, message);
  else errors.delete(source);
  const box = $('error');
  const msgs = [...new Set(errors.values())];
  box.textContent = msgs.join(' · ');
  box.hidden = msgs.length === 0;
  document.body.classList.toggle('stale', msgs.length > 0);
}

// Runs fn now and then every `every` ms after it finishes, so one refresh never overlaps the
// next; nothing runs while the tab is hidden, and resume() catches up when it shows again.
function poller(fn, every, enabled = () => true) {
  let timer = null;
  let running = false;
  let again = false;
  let last = 0;
  async function run() {
    clearTimeout(timer);
    timer = null;
    if (running) { again = true; return; }
    if (document.hidden || !enabled()) return;
    running = true;
    last = Date.now();
    try {
      await fn();
    } catch (e) {
      // fn reports its own failures; this only keeps the schedule alive.
    } finally {
      running = false;
    }
    if (again) { again = false; run(); return; }
    if (!document.hidden && enabled()) timer = setTimeout(run, every);
  }
  function resume() {
    if (running || timer !== null) return;
    timer = setTimeout(run, Math.max(0, every - (Date.now() - last)));
  }
  return { run, resume, stop() { clearTimeout(timer); timer = null; } };
}

// A summary the page keeps fresh: read `url` every `every` ms, hand it to `render`, and say in
// the error banner (under `name`) when it cannot be read.
function feed(name, url, render, every) {
  return poller(async () => {
    try {
      render(await api(url));
      setError(name, null);
    } catch (e) {
      setError(name, e.message);
    }
  }, every);
}

// ---- status -------------------------------------------------------------------------------

const tiles = new Map();

function buildCounts() {
  const box = $('counts');
  for (const s of STATES) {
    const t = el('button', 'tile k-' + kindOf(s) + ' zero');
    t.type = 'button';
    t.dataset.state = s;
    t.dataset.count = '0';
    t.title = `${s}: ${STATE_INFO[s][0]}. Click to list these rows.`;
    t.append(el('span', 'count', '0'), el('span', 'state', s.replace('_', '\u00a0')));
    t.addEventListener('click', () => filterByState(s));
    box.append(t);
    tiles.set(s, t);
  }
  const sel = $('state-filter');
  for (const s of STATES) {
    const o = el('option', '', s);
    o.value = s;
    sel.append(o);
  }
}

function renderStatus(st) {
  const role = $('role');
  role.textContent = st.role === 'leader' || st.role === 'standby' ? st.role : String(st.role ?? '?');
  role.className = 'role role-' + (st.role === 'leader' ? 'leader' : 'standby');

  const gen = parseTime(st.generated_at);
  const up = $('updated');
  up.textContent = gen === null ? String(st.generated_at ?? '?') : utcText(gen, false) + ' UTC';
  if (gen !== null) { up.dateTime = st.generated_at; up.title = st.generated_at; }

  const counts = st.counts && typeof st.counts === 'object' ? st.counts : {};
  for (const s of STATES) {
    const n = Number.isFinite(Number(counts[s])) ? Math.trunc(Number(counts[s])) : 0;
    const t = tiles.get(s);
    t.dataset.count = String(n);
    const c = t.querySelector('.count');
    c.textContent = num(n);
    // Six-figure counts shrink so every tile keeps one width.
    c.classList.toggle('long', c.textContent.length >= 6 && c.textContent.length < 8);
    c.classList.toggle('longer', c.textContent.length >= 8);
    t.classList.toggle('zero', n === 0);
  }

  $('total').textContent = num(st.total);
  $('unfinished').textContent = num(st.unfinished);

  const tp = st.throughput || {};
  const pm = Number(tp.per_minute);
  $('throughput').textContent = tp.per_minute === null || tp.per_minute === undefined || !Number.isFinite(pm) ? '—' : `${dec1(pm)} /min`;
  const win = Number(tp.window_seconds);
  // The rate is measured over the span its finishes took (the CLI's "over the last 4 s"), which
  // a short run makes much shorter than the window they were counted in.
  const span = Number(tp.span_seconds);
  const over = tp.span_seconds != null && Number.isFinite(span) && span > 0 ? `, measured over ${humanSpan(span)}` : '';
  $('throughput-sub').textContent = Number.isFinite(win) && win > 0 ? `${num(tp.finished)} finished in the last ${humanSpan(win)}${over}` : '';

  $('eta').textContent = eta(st.eta_seconds);

  const rate = st.rate || {};
  const conf = Number(rate.configured);
  const force = Number(rate.in_force);
  const rateEl = $('rate');
  if (Number.isFinite(conf) && Number.isFinite(force)) {
    rateEl.textContent = `${dec1(force)} of ${dec1(conf)} /s`;
    rateEl.classList.toggle('warn', force < conf);
    rateEl.title = 'requests per second to Azion: in force of configured';
  } else {
    rateEl.textContent = '—';
  }
  $('rate-sub').textContent = Number.isFinite(Number(rate.congestion_events))
    ? plural(rate.congestion_events, 'congestion event', 'congestion events') + ' (Azion said 429)' : '';

  const exp = st.expiring || {};
  const expEl = $('expiring');
  expEl.textContent = num(exp.count);
  expEl.classList.toggle('warn', Number(exp.count) > 0);
  $('expiring-sub').textContent = Number.isFinite(Number(exp.within_seconds)) ? `certificates within ${humanSpan(Number(exp.within_seconds))}` : '';

  const hooks = $('webhooks');
  const list = Array.isArray(st.webhooks) ? st.webhooks : [];
  hooks.replaceChildren();
  if (list.length === 0) hooks.append(el('li', 'muted', 'no receivers configured'));
  for (const w of list) {
    const li = el('li', 'hook');
    const waiting = Number(w && w.waiting) || 0;
    li.append(el('span', 'receiver', w && w.receiver));
    li.append(el('span', 'waiting' + (waiting > 0 ? ' warn' : ''), `${num(waiting)} waiting`));
    if (w && w.started === false) li.append(el('span', 'muted', 'not started'));
    hooks.append(li);
  }

  document.body.dataset.ready = '1';
}

const statusPoll = feed('status', '/api/v1/status', renderStatus, STATUS_EVERY);

// ---- problems -----------------------------------------------------------------------------

function renderProblems(p) {
  const ul = $('problems');
  const groups = Array.isArray(p.groups) ? p.groups : [];
  ul.replaceChildren();
  if (groups.length === 0) ul.append(el('li', 'empty muted', 'No rows in problem states.'));
  for (const g of groups) {
    if (!g || typeof g !== 'object') continue;
    const li = el('li', 'problem');
    const rows = el('button', 'rows', plural(g.rows, 'row', 'rows'));
    rows.type = 'button';
    rows.title = `list the ${g.state} rows`;
    rows.addEventListener('click', () => filterByState(g.state));
    const head = el('div', 'problem-head');
    const st = badge(g.state);
    st.classList.add('state');
    head.append(st, rows);
    li.append(head, el('div', 'reason', g.reason));
    if (typeof g.example === 'string' && g.example) {
      const ex = el('div', 'example-line muted small', 'e.g. ');
      const a = el('a', 'example', g.example);
      a.href = domainHref(g.example);
      ex.append(a);
      li.append(ex);
    }
    ul.append(li);
  }
  let note = Number.isFinite(Number(p.rows_examined)) ? `${plural(p.rows_examined, 'problem row', 'problem rows')} examined` : '';
  if (p.limited) note += ` (only the newest ${Number.isFinite(Number(p.max_rows)) ? num(Number(p.max_rows)) : 'rows'} read)`;
  $('problems-note').textContent = note;
}

const problemsPoll = feed('problems', '/api/v1/problems', renderProblems, PROBLEMS_EVERY);

// ---- throughput chart ---------------------------------------------------------------------

const SVG = 'http://www.w3.org/2000/svg';
const CHART_HOURS = 24;
let chartData = null;
let chartWidth = 0;

function svg(tag, attrs, cls) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (cls) e.setAttribute('class', cls);
  return e;
}

function niceMax(v) {
  if (v <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function chartBoxWidth() {
  return Math.max(240, Math.floor($('chart').clientWidth || 600));
}

function renderChart() {
  const box = $('chart');
  const data = chartData;
  if (!data) return;
  // The viewBox is the box's real pixel width, so bars fill it and text keeps its size
  // (a stretched viewBox would squash the labels).
  const W = chartBoxWidth();
  const H = 150;
  const padL = 34, padR = 6, padT = 8, padB = 20;
  const plotW = W - padL - padR;
  const plotH = H - padT - padB;
  chartWidth = W;

  const buckets = Array.isArray(data.buckets) ? data.buckets : [];
  const step = Number(data.bucket_seconds) > 0 ? Number(data.bucket_seconds) : 600;
  const n = Math.max(1, buckets.length);
  const rows = buckets.map((b) => {
    const v = (k) => (b && Number.isFinite(Number(b[k])) ? Number(b[k]) : 0);
    return {
      start: parseTime(b && b.start),
      ok: v('active'),
      bad: v('failed') + v('invalid') + v('dns_failed'),
      other: v('moved') + v('removed'),
      parts: ['active', 'failed', 'invalid', 'dns_failed', 'moved', 'removed'].map((k) => [k, v(k)]),
    };
  });
  const max = niceMax(Math.max(0, ...rows.map((r) => r.ok + r.bad + r.other)));
  const y = (v) => padT + plotH - (v / max) * plotH;

  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': 'rows finished per bucket' }, 'chart-svg');

  for (const v of [0, max / 2, max]) {
    root.append(svg('line', { x1: padL, x2: W - padR, y1: y(v), y2: y(v) }, v === 0 ? 'axis' : 'grid'));
    const t = svg('text', { x: padL - 4, y: y(v) + 3.5, 'text-anchor': 'end' }, 'tick');
    t.textContent = num(v);
    root.append(t);
  }

  const bw = plotW / n;
  const gap = bw >= 4 ? 1 : 0;
  let total = { ok: 0, bad: 0, other: 0 };
  rows.forEach((r, i) => {
    const x = padL + i * bw;
    const g = svg('g', {}, 'bucket');
    const title = svg('title');
    const from = r.start === null ? '?' : utcText(r.start, false).slice(0, 5);
    const to = r.start === null ? '?' : utcText(r.start + step * 1000, false).slice(0, 5);
    const parts = r.parts.filter(([, c]) => c > 0).map(([k, c]) => `${num(c)} ${k}`);
    title.textContent = `${from}–${to} UTC: ${parts.length ? parts.join(', ') : 'nothing finished'}`;
    g.append(title);
    // A full-height transparent target so even an empty bucket shows its tooltip.
    g.append(svg('rect', { x, y: padT, width: bw, height: plotH }, 'hit'));
    let base = 0;
    for (const [k, cls] of [['ok', 'bar-ok'], ['bad', 'bar-bad'], ['other', 'bar-other']]) {
      const v = r[k];
      total[k] += v;
      if (v <= 0) continue;
      const y0 = y(base + v);
      g.append(svg('rect', { x: x + gap / 2, y: y0, width: Math.max(0.5, bw - gap), height: Math.max(1, y(base) - y0) }, cls));
      base += v;
    }
    root.append(g);
  });

  // Time labels on whole UTC hours, as far apart as the width allows.
  const pxPerHour = (plotW / n) * (3600 / step);
  const every = [1, 2, 3, 4, 6, 12, 24, 48].find((h) => h * pxPerHour >= 48) || 48;
  rows.forEach((r, i) => {
    if (r.start === null) return;
    const d = new Date(r.start);
    if (d.getUTCMinutes() !== 0 || d.getUTCSeconds() !== 0 || d.getUTCHours() % every !== 0) return;
    const x = padL + i * bw;
    if (x < padL + 12 || x > W - padR - 12) return;
    root.append(svg('line', { x1: x, x2: x, y1: padT + plotH, y2: padT + plotH + 3 }, 'axis'));
    const t = svg('text', { x, y: H - 5, 'text-anchor': 'middle' }, 'tick');
    t.textContent = `${pad(d.getUTCHours())}:00`;
    root.append(t);
  });

  box.replaceChildren(root);
  const sum = total.ok + total.bad + total.other;
  $('chart-summary').textContent = `${plural(sum, 'row', 'rows')} finished: ${num(total.ok)} active, ${num(total.bad)} failed/invalid/dns_failed, ${num(total.other)} moved/removed. Times in UTC.`;
  const mins = step / 60;
  $('chart-bucket').textContent = mins >= 60 ? `${dec1(mins / 60)} h` : `${dec1(mins)} min`;
  $('chart-hours').textContent = num(data.hours);
}

const chartPoll = feed('chart', `/api/v1/throughput?hours=${CHART_HOURS}`, (data) => {
  chartData = data;
  renderChart();
}, CHART_EVERY);

// ---- search -------------------------------------------------------------------------------

let searchCtl = null;
let searchTimer = null;
let nextCursor = null;

function searchUrl(after) {
  const p = new URLSearchParams();
  const q = $('search').value.trim();
  if (q) p.set('q', q);
  const st = $('state-filter').value;
  if (st) p.set('state', st);
  p.set('order', $('order').value === 'oldest' ? 'oldest' : 'newest');
  p.set('limit', String(PAGE));
  if (after) p.set('after', after);
  return '/api/v1/domains?' + p.toString();
}

function resultItem(d) {
  const li = el('li', 'result');
  const host = typeof d.hostname === 'string' ? d.hostname : String(d.hostname);
  li.dataset.hostname = host;
  const a = el('a', 'host', host);
  a.href = domainHref(host);
  // An internationalised name as the customer wrote it, beside the A-label certqd keeps.
  if (typeof d.unicode === 'string' && d.unicode) a.append(el('span', 'unicode', ` (${d.unicode})`));
  const top = el('div', 'result-top');
  top.append(a, timeEl(d.updated_at, { relativeOnly: true, cls: 'when' }), badge(d.state));
  li.append(top);
  const first = typeof d.detail === 'string' ? d.detail.split('\n', 1)[0] : '';
  const det = el('span', 'detail-line', first);
  if (first) det.title = d.detail;
  li.append(det);
  return li;
}

async function runSearch(more = false) {
  if (searchCtl) searchCtl.abort();
  const ctl = new AbortController();
  searchCtl = ctl;
  const note = $('results-note');
  const btn = $('more');
  if (more) { btn.disabled = true; btn.textContent = 'loading…'; }
  try {
    const page = await api(searchUrl(more ? nextCursor : null), ctl.signal);
    if (ctl !== searchCtl) return;
    const list = Array.isArray(page.domains) ? page.domains : [];
    const ul = $('results');
    if (!more) ul.replaceChildren();
    for (const d of list) if (d && typeof d === 'object') ul.append(resultItem(d));
    nextCursor = typeof page.next === 'string' && page.next !== '' ? page.next : page.next != null ? String(page.next) : null;
    btn.hidden = nextCursor === null;
    const shown = ul.children.length;
    note.textContent = shown === 0 ? 'No rows match.' : `${plural(shown, 'row', 'rows')} shown${nextCursor ? '' : ', that is all'}.`;
    note.classList.remove('bad');
  } catch (e) {
    if (isAbort(e)) return;
    note.textContent = e.message;
    note.classList.add('bad');
  } finally {
    if (ctl === searchCtl) { btn.disabled = false; btn.textContent = 'more'; }
  }
}

function filterByState(state) {
  const sel = $('state-filter');
  sel.value = STATES.includes(state) ? state : '';
  $('search').value = '';
  clearTimeout(searchTimer);
  runSearch();
  $('search').closest('section').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

function bindSearch() {
  $('search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => runSearch(), SEARCH_DEBOUNCE);
  });
  for (const id of ['state-filter', 'order']) {
    $(id).addEventListener('change', () => { clearTimeout(searchTimer); runSearch(); });
  }
  $('more').addEventListener('click', () => runSearch(true));
  // "/" jumps to the search box, as in most consoles.
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== '/' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
    ev.preventDefault();
    $('search').focus();
  });
}

// ---- one row's story ----------------------------------------------------------------------

let openHost = null;       // hostname from the URL, or null on the overview
let domainCtl = null;
let dnsCtl = null;
let lastStory = '';         // the last story rendered, to skip identical refreshes (keeps scroll and selection)
let lastStoryAt = 0;
let dnsCooldown = null;

function currentRoute() {
  const h = location.hash || '';
  const m = /^#\/domain\/(.*)$/.exec(h);
  if (!m) return { host: null };
  try {
    const host = decodeURIComponent(m[1]);
    return host ? { host } : { host: null };
  } catch (e) {
    return { host: null, bad: m[1] };
  }
}

function dl(box, pairs) {
  box.replaceChildren();
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    box.append(el('dt', '', k));
    const dd = el('dd');
    if (v instanceof Node) dd.append(v);
    else dd.textContent = v === null || v === '' ? '—' : String(v);
    box.append(dd);
  }
}

function namesEl(names) {
  const arr = Array.isArray(names) ? names : [];
  if (arr.length === 0) return '—';
  const ul = el('ul', 'names');
  for (const n of arr) ul.append(el('li', '', n));
  return ul;
}

function expiryEl(iso) {
  const ms = parseTime(iso);
  const span = el('span');
  if (ms === null) { span.textContent = iso == null ? '—' : String(iso); return span; }
  const days = Math.floor((ms - Date.now()) / 86400000);
  span.append(timeEl(iso, { noRelative: true }));
  let txt;
  if (ms < Date.now()) txt = `expired ${humanSpan((Date.now() - ms) / 1000)} ago`;
  else if (days < 1) txt = 'expires today';
  else txt = `expires in ${days} day${days === 1 ? '' : 's'}`;
  const cls = ms < Date.now() ? 'bad' : days < 14 ? 'warn' : 'ok-text';
  span.append(' ', el('span', 'expiry ' + cls, txt));
  return span;
}

function renderStory(story) {
  const d = story.domain || {};
  $('domain-missing').hidden = true;
  $('domain-body').hidden = false;
  $('domain-hostname').textContent = d.hostname ?? openHost;
  if (typeof d.unicode === 'string' && d.unicode) $('domain-hostname').append(el('span', 'unicode', ` (${d.unicode})`));
  setBadge($('domain-state'), d.state);
  const since = $('domain-since');
  since.replaceChildren();
  if (d.state_since) since.append('since ', timeEl(d.state_since));

  const info = STATE_INFO[d.state];
  const hint = $('domain-hint');
  hint.replaceChildren();
  if (info) {
    hint.append(el('strong', '', d.state), `: ${info[0]}. `, el('span', 'who', `Moves on: ${info[1]}.`));
  }
  if (d.wanted === 'absent') hint.append(' ', el('span', 'warn', 'Being offboarded (wanted: absent).'));

  const det = $('domain-detail');
  det.textContent = typeof d.detail === 'string' ? d.detail : '';
  det.hidden = !det.textContent;

  dl($('domain-facts'), [
    ['id', d.id],
    ['names', namesEl(d.names)],
    ['alternative names', Array.isArray(d.alternative_names) && d.alternative_names.length ? namesEl(d.alternative_names) : 'none'],
    ['wanted', d.wanted],
    ['attempts', num(d.attempts)],
    ['polls', num(d.polls)],
    ['next attempt', d.next_attempt_at ? timeEl(d.next_attempt_at) : null],
    ['created', d.created_at ? timeEl(d.created_at) : null],
    ['updated', d.updated_at ? timeEl(d.updated_at) : null],
  ]);

  if (d.certificate_id == null && !d.valid_until) {
    dl($('certificate'), [['certificate', 'none yet']]);
  } else {
    dl($('certificate'), [
      ['id', d.certificate_id],
      ['name', d.certificate_name],
      ['validity', d.validity],
      ['valid until', d.valid_until ? expiryEl(d.valid_until) : null],
      ['renewed', d.renewed_at ? timeEl(d.renewed_at) : null],
    ]);
  }
  const w = story.workload && typeof story.workload === 'object' ? story.workload : null;
  const others = w && Array.isArray(w.others) ? w.others : [];
  let list = null;
  if (others.length) {
    list = el('ul', 'names');
    for (const o of others) {
      if (!o || typeof o.hostname !== 'string') continue;
      const li = el('li');
      const a = el('a', '', o.hostname);
      a.href = domainHref(o.hostname);
      li.append(a, ' ', badge(o.state));
      list.append(li);
    }
  }
  dl($('workload'), [
    ['id', d.workload_id == null ? 'none (certificate only)' : d.workload_id],
    ['rows on it', w ? num(w.rows) : undefined],
    ['others', list ?? (w ? 'none' : undefined)],
  ]);

  // Newest first: the question is usually "what happened last".
  const ol = $('timeline');
  ol.replaceChildren();
  const trs = Array.isArray(story.transitions) ? story.transitions.slice().reverse() : [];
  for (const t of trs) {
    if (!t || typeof t !== 'object') continue;
    const li = el('li', 'transition k-' + kindOf(t.to));
    const head = el('div', 'tr-head');
    head.append(timeEl(t.at, { cls: 'at' }));
    const move = el('span', 'move');
    move.append(el('span', 'from' + (t.from == null ? ' muted' : ''), t.from == null ? 'new row' : t.from), el('span', 'arrow', ' → '));
    const to = badge(t.to);
    to.classList.add('to');
    move.append(to);
    head.append(move);
    li.append(head, el('div', 'detail', typeof t.detail === 'string' ? t.detail : ''));
    ol.append(li);
  }
  if (trs.length === 0) ol.append(el('li', 'muted', 'no transitions recorded'));
  const om = Number(story.transitions_omitted) || 0;
  const omEl = $('timeline-omitted');
  omEl.hidden = om <= 0;
  omEl.textContent = om > 0 ? `${plural(om, 'older transition', 'older transitions')} not shown.` : '';
}

function showMissing(text) {
  lastStory = '';
  $('domain-missing').textContent = text;
  $('domain-missing').hidden = false;
  $('domain-body').hidden = true;
  setBadge($('domain-state'), '—');
  $('domain-state').hidden = true;
  $('domain-since').replaceChildren();
}

const domainPoll = poller(async () => {
  const host = openHost;
  if (domainCtl) domainCtl.abort();
  const ctl = new AbortController();
  domainCtl = ctl;
  try {
    const story = await api('/api/v1/domains/' + encodeURIComponent(host), ctl.signal);
    if (host !== openHost) return;
    setError('domain', null);
    const key = JSON.stringify(story);
    // Relative times ("3 min ago") still move on, so redraw at least once a minute.
    if (key === lastStory && Date.now() - lastStoryAt < 60000) return;
    lastStory = key;
    lastStoryAt = Date.now();
    $('domain-state').hidden = false;
    renderStory(story);
  } catch (e) {
    if (isAbort(e) || host !== openHost) return;
    if (e.status === 404) {
      setError('domain', null);
      showMissing(`no row for ${host}`);
    } else {
      setError('domain', e.message);
    }
  }
}, DOMAIN_EVERY, () => openHost !== null);

function renderDns(r) {
  const ul = $('dns');
  ul.replaceChildren();
  const names = Array.isArray(r.names) ? r.names : [];
  for (const n of names) {
    if (!n || typeof n !== 'object') continue;
    const li = el('li', 'dns-name');
    const v = typeof n.verdict === 'string' ? n.verdict : '';
    const vcls = v === 'points to Azion' ? 'ok' : v === 'not ready' ? 'bad' : 'warn';
    const head = el('div', 'dns-head-line');
    head.append(el('span', 'name', n.name), el('span', 'verdict v-' + vcls, v || '?'));
    li.append(head);
    li.append(el('div', 'pointing', n.pointing ?? ''));
    li.append(el('div', 'caa', n.caa ?? ''));
    const prob = el('div', 'problem', n.problem ?? '');
    prob.hidden = !n.problem;
    li.append(prob);
    ul.append(li);
  }
  if (names.length === 0) ul.append(el('li', 'muted', 'no names checked'));
  const sum = $('dns-summary');
  sum.replaceChildren();
  const ms = parseTime(r.checked_at);
  sum.append(r.would_request ? el('span', 'ok-text', 'ready: certqd would request now') : el('span', 'bad', 'not ready to request'));
  if (ms !== null) sum.append(` · checked ${utcText(ms, false)} UTC`);
}

async function runDns() {
  const host = openHost;
  // dnsCtl doubles as "a check is running": one at a time, and route() drops it on a new row.
  if (host === null || dnsCtl || dnsCooldown) return;
  const ctl = new AbortController();
  dnsCtl = ctl;
  const btn = $('dns-recheck');
  const msg = $('dns-message');
  btn.disabled = true;
  btn.textContent = 'Checking…';
  try {
    const r = await api('/api/v1/domains/' + encodeURIComponent(host) + '/dns', ctl.signal);
    if (ctl !== dnsCtl) return;
    msg.hidden = true;
    renderDns(r);
  } catch (e) {
    if (isAbort(e) || ctl !== dnsCtl) return;
    $('dns-summary').textContent = '';
    msg.hidden = false;
    msg.classList.toggle('bad', e.status !== 429);
    if (e.status === 429) {
      const wait = retrySeconds(e.retryAfter);
      msg.textContent = wait !== null ? `checked too often, try again in ${wait} s` : e.message;
      if (wait !== null) cooldown(wait);
    } else if (e.status === 404) {
      msg.textContent = `no row for ${host}`;
    } else {
      msg.textContent = `DNS check failed: ${e.message}`;
    }
  } finally {
    if (ctl === dnsCtl) {
      dnsCtl = null;
      if (!dnsCooldown) { btn.disabled = false; btn.textContent = 'Check DNS again'; }
    }
  }
}

function retrySeconds(h) {
  if (!h) return null;
  if (/^\d+$/.test(h.trim())) return Math.max(1, parseInt(h, 10));
  const t = Date.parse(h);
  return Number.isFinite(t) ? Math.max(1, Math.ceil((t - Date.now()) / 1000)) : null;
}

// Keeps the button off while certqd's rate limit would refuse it anyway.
function cooldown(seconds) {
  const btn = $('dns-recheck');
  const msg = $('dns-message');
  const until = Date.now() + seconds * 1000;
  clearInterval(dnsCooldown);
  btn.disabled = true;
  dnsCooldown = setInterval(() => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left > 0) {
      msg.textContent = `checked too often, try again in ${left} s`;
      return;
    }
    stopCooldown();
    msg.hidden = true;
  }, 1000);
}

function stopCooldown() {
  clearInterval(dnsCooldown);
  dnsCooldown = null;
  const btn = $('dns-recheck');
  btn.disabled = false;
  btn.textContent = 'Check DNS again';
}

function route() {
  const r = currentRoute();
  const sec = $('domain');
  if (r.host === openHost && r.host !== null) return;
  if (domainCtl) domainCtl.abort();
  if (dnsCtl) { dnsCtl.abort(); dnsCtl = null; }
  domainPoll.stop();
  stopCooldown();
  openHost = r.host;
  lastStory = '';
  lastStoryAt = 0;
  if (openHost === null && r.bad === undefined) {
    sec.hidden = true;
    document.title = 'certq';
    return;
  }
  sec.hidden = false;
  // Clear the previous row so its facts never show under the new hostname.
  $('domain-hostname').textContent = openHost ?? '';
  $('domain-state').hidden = true;
  $('domain-since').replaceChildren();
  for (const id of ['domain-hint', 'domain-facts', 'certificate', 'workload', 'timeline', 'dns', 'dns-summary']) $(id).replaceChildren();
  $('domain-detail').textContent = '';
  $('domain-detail').hidden = true;
  $('dns-message').hidden = true;
  $('timeline-omitted').hidden = true;
  window.scrollTo(0, 0);
  if (openHost === null) {
    showMissing('That link does not hold a valid hostname.');
    return;
  }
  document.title = `${openHost} · certq`;
  $('domain-missing').hidden = true;
  $('domain-body').hidden = false;
  $('dns-summary').textContent = 'checking…';
  domainPoll.run();
  runDns();
}

// ---- start --------------------------------------------------------------------------------

function start() {
  buildCounts();
  bindSearch();
  $('dns-recheck').addEventListener('click', () => runDns());
  window.addEventListener('hashchange', route);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    for (const p of [statusPoll, problemsPoll, chartPoll, domainPoll]) p.resume();
  });
  // Redraw the chart at the box's new width (in a frame, so a resize never loops).
  let frame = 0;
  new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      if (chartData && chartBoxWidth() !== chartWidth) renderChart();
    });
  }).observe($('chart'));

  statusPoll.run();
  problemsPoll.run();
  chartPoll.run();
  runSearch();
  route();
}

start();
