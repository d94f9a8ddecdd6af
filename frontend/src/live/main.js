// The Live view: what is live now and the last 60 minutes per minute, refreshed every few seconds.
// Updates in place (counters, table rows, chart data) so nothing flickers; stops while the tab is hidden.
import '../common/shell.js';
import { query } from '../common/api.js';
import { boot } from '../common/boot.js';
import { color, draw, yAxis } from '../common/charts.js';
import { failure, fill, h, kpi } from '../common/dom.js';

export const REFRESH_MS = 5000;
const WINDOW = 60;
const projectId = boot.project.id;
const root = document.getElementById('app');

const LIVE = `query Live($p: IntOrString!, $w: Int) { project(projectId: $p) { live(windowMinutes: $w) {
  at sessions participants publishers subscribers streamsByVideoType { camera screen custom other }
  minutesPerMinute attempts failures failureRate
  perMinute { minute minutes participants failures videoBitrateKbpsAvg latencyMsAvg }
  liveSessions { sessionId createdAt participants publishers } } } }`;

const COUNTERS = [
  ['sessions', 'Live sessions'], ['participants', 'Participants'], ['publishers', 'Publishers'],
  ['subscribers', 'Subscribers'], ['minutesPerMinute', 'Minutes / minute'], ['failureRate', 'Failure rate'],
];
const counters = h('div', { class: 'kpis', id: 'live-counters' });
const status = h('p', { class: 'note', id: 'live-status', 'aria-live': 'polite' });
const usageBox = h('div', { id: 'live-usage' });
const qualityBox = h('div', { id: 'live-quality' });
const sessionsBody = h('tbody');
const message = h('div', { id: 'live-message' });
root.replaceChildren(
  h('div', { class: 'dash-head' }, h('h1', {}, `${boot.project.name}: live`), status),
  message, counters,
  h('section', { class: 'card wide live-card' }, h('h3', {}, 'Last 60 minutes: minutes, participants, failures'), usageBox),
  h('section', { class: 'card wide live-card' }, h('h3', {}, 'Last 60 minutes: bitrate and latency'), qualityBox),
  h('section', { class: 'card wide live-card', id: 'live-sessions' }, h('h3', {}, 'Live sessions'),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Session'), h('th', {}, 'Since'),
      h('th', {}, 'Participants'), h('th', {}, 'Publishers'))), sessionsBody)));

const time = (iso) => new Date(iso).toLocaleTimeString('en-US', { hour: '2-digit', minute: '2-digit' });
const text = (key, value) => {
  if (value === null || value === undefined) return '–';
  if (key === 'failureRate') return `${(value * 100).toFixed(1)} %`;
  if (key === 'minutesPerMinute') return value.toFixed(1);
  return String(value);
};

function drawCounters(live) {
  fill(counters, COUNTERS.map(([key, label]) => kpi(key, label, live[key], text(key, live[key]),
    key === 'publishers' ? `camera ${live.streamsByVideoType.camera} · screen ${live.streamsByVideoType.screen}` : null)));
}

function drawSessions(live) {
  const rows = live.liveSessions.map((s) => h('tr', { dataset: { session: s.sessionId } },
    h('td', {}, h('a', { href: `/sessions/${encodeURIComponent(s.sessionId)}?project=${encodeURIComponent(projectId)}` }, s.sessionId)),
    h('td', {}, time(s.createdAt)), h('td', {}, String(s.participants)), h('td', {}, String(s.publishers))));
  fill(sessionsBody, rows.length ? rows : h('tr', {}, h('td', { colspan: 4 }, 'No session is live.')));
}

let usageChart = null;
let qualityChart = null;
function drawCharts(live) {
  const labels = live.perMinute.map((m) => time(m.minute));
  const series = {
    usage: [['Minutes', 'minutes', 'bar'], ['Participants', 'participants', 'line'], ['Failures', 'failures', 'line']],
    quality: [['Video bitrate (kbps)', 'videoBitrateKbpsAvg', 'line'], ['Latency (ms)', 'latencyMsAvg', 'line']],
  };
  const datasets = (list) => list.map(([label, key, type], i) => ({
    label, type, data: live.perMinute.map((m) => m[key]), backgroundColor: color(i), borderColor: color(i), spanGaps: true,
  }));
  // Change the data of the existing charts: redrawing them would flicker.
  for (const [chart, list] of [[usageChart, series.usage], [qualityChart, series.quality]]) {
    if (!chart) continue;
    chart.data.labels = labels;
    datasets(list).forEach((d, i) => { chart.data.datasets[i].data = d.data; });
    chart.update('none');
  }
  if (!usageChart) {
    usageChart = draw(usageBox, { type: 'bar', label: 'minutes per minute', data: { labels, datasets: datasets(series.usage) },
      options: { scales: { y: yAxis('') } } }, { height: 240 });
  }
  if (!qualityChart) {
    qualityChart = draw(qualityBox, { type: 'line', label: 'bitrate and latency per minute',
      data: { labels, datasets: datasets(series.quality) }, options: { scales: { y: yAxis('') } } }, { height: 240 });
  }
}

let timer = null;
let inFlight = false;
async function tick() {
  timer = null;
  if (document.visibilityState === 'hidden') return; // visibilitychange starts again
  inFlight = true;
  try {
    const data = await query(LIVE, { p: projectId, w: WINDOW });
    const live = data.project.live;
    fill(message);
    drawCounters(live);
    drawSessions(live);
    drawCharts(live);
    status.textContent = `Updated ${new Date(live.at).toLocaleTimeString('en-US')} · every ${REFRESH_MS / 1000} s`;
    root.dataset.state = 'ready';
  } catch (error) {
    fill(message, failure(error));
    root.dataset.state = 'error';
  } finally {
    inFlight = false;
    schedule();
  }
}

function schedule() {
  if (timer === null && !inFlight && document.visibilityState !== 'hidden') timer = setTimeout(tick, REFRESH_MS);
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') {
    clearTimeout(timer);
    timer = null;
    status.textContent = 'Paused while the tab is hidden';
  } else if (timer === null && !inFlight) {
    tick();
  }
});

root.dataset.state = 'loading';
fill(counters, COUNTERS.map(([key, label]) => kpi(key, label, null, '…')));
tick();
