// Quality tab: histograms of video bitrate and latency (publisher and subscriber) and their trend; the
// sessions by quality score and the detected issues by type over time (extensions, docs/quality.md).
import { color, draw, yAxis } from '../common/charts.js';
import { card, empty, fill, h, kpi } from '../common/dom.js';
import { compact, count, kbps, ms } from '../common/format.js';
import { ISSUES } from '../common/issues.js';
import { BITRATE_BUCKETS, LATENCY_BUCKETS, qualityQuery, rows, SCORE_BUCKETS } from './queries.js';
import { dataTable, timeline } from './series.js';
import { hasEndpointFilter } from './state.js';

export const document = qualityQuery;

/** "kbps100" -> "0–100", "kbps3000Plus" -> "> 3000" (each bucket is above the previous bound). */
function bucketLabels(names, prefix) {
  return names.map((name, i) => {
    const bound = name.slice(prefix.length);
    if (bound.endsWith('Plus')) return `> ${bound.replace('Plus', '')}`;
    const previous = i === 0 ? '0' : names[i - 1].slice(prefix.length);
    return `${previous}–${bound}`;
  });
}

export function layout(root) {
  const kpis = h('div', { class: 'kpis' });
  const bitrate = card('Video bitrate', { id: 'quality-bitrate', note: 'Stats samples (every 30 s) by video bitrate, kbps.' });
  const latency = card('Latency', { id: 'quality-latency', note: 'Stats samples by latency, ms (video, else audio).' });
  const bitrateTrend = card('Average video bitrate over time', { id: 'quality-bitrate-trend' });
  const latencyTrend = card('Average latency over time', { id: 'quality-latency-trend' });
  const scores = card('Sessions by quality score', { id: 'quality-score-distribution',
    note: 'Scored sessions by their time-weighted score (1 bad – 5 excellent), counted on the day each was last seen.' });
  const issues = card('Detected issues by type over time', { id: 'quality-issues-trend',
    note: 'Issues counted on the day they started, on the affected participant\'s endpoint.' });
  root.replaceChildren(kpis, h('div', { class: 'grid' }, scores.el, issues.el, bitrate.el, latency.el, bitrateTrend.el, latencyTrend.el));
  return { kpis, scores: scores.body, issues: issues.body, bitrate: bitrate.body, latency: latency.body,
    bitrateTrend: bitrateTrend.body, latencyTrend: latencyTrend.body };
}

/** "score1_5" -> "1–1.5", "score2" -> "1.5–2" (each bucket is above the previous bound, at most its own). */
const scoreLabels = SCORE_BUCKETS.map((name, i) => {
  const bound = (b) => b.slice('score'.length).replace('_', '.');
  return `${i === 0 ? '1' : bound(SCORE_BUCKETS[i - 1])}–${bound(name)}`;
});
// From red (bad) to green (excellent).
const SCORE_COLORS = ['#b91c1c', '#dc2626', '#ea580c', '#f59e0b', '#eab308', '#84cc16', '#22c55e', '#16a34a'];
const SESSION_ONLY = 'Counted per session: not available with location, SDK or browser filters.';

function scoreDistribution(slot, distribution, filtered) {
  if (!distribution) return fill(slot, empty(filtered ? SESSION_ONLY : undefined));
  const datasets = [{ label: 'Sessions', backgroundColor: SCORE_COLORS, data: SCORE_BUCKETS.map((b) => distribution[b] ?? 0) }];
  if (!datasets[0].data.some((v) => v)) return fill(slot, empty('No scored session in this range.'));
  draw(slot, { type: 'bar', label: 'sessions by quality score', data: { labels: scoreLabels, datasets },
    options: { scales: { y: yAxis('sessions', { ticks: { callback: (v) => compact(v), precision: 0 } }), x: { title: { display: true, text: 'score' } } },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => `${count(c.raw)} sessions` } } } } });
  slot.append(dataTable(scoreLabels.map((l) => `score ${l}`), datasets, count));
}

function issuesTrend(slot, points) {
  const datasets = ISSUES.map(([, field, label], i) => ({
    label, backgroundColor: color(i), data: points.map((p) => p.row?.quality?.issues?.[field] ?? 0),
  })).filter((d) => d.data.some((v) => v));
  if (!datasets.length) return fill(slot, empty('No issue detected in this range.'));
  const labels = points.map((p) => p.label);
  draw(slot, { type: 'bar', label: 'detected issues by type over time', data: { labels, datasets },
    options: { scales: { x: { stacked: true }, y: yAxis('issues', { stacked: true, ticks: { callback: (v) => compact(v), precision: 0 } }) },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${count(c.raw)}` } } } } });
  slot.append(dataTable(labels, datasets, count));
}

function histogram(slot, pub, sub, field, buckets, prefix, unit) {
  const labels = bucketLabels(buckets, prefix);
  const datasets = [
    { label: 'Publisher', backgroundColor: color(0), data: buckets.map((b) => pub?.[field]?.[b] ?? null) },
    { label: 'Subscriber', backgroundColor: color(1), data: buckets.map((b) => sub?.[field]?.[b] ?? null) },
  ];
  if (!datasets.some((d) => d.data.some((v) => v))) return fill(slot, empty());
  draw(slot, { type: 'bar', label: `${field} histogram`, data: { labels, datasets },
    options: { scales: { y: yAxis('samples'), x: { title: { display: true, text: unit } } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${count(c.raw)} samples` } } } } });
  slot.append(dataTable(labels.map((l) => `${l} ${unit}`), datasets, count));
}

function trend(slot, points, read, fmt, unit) {
  const labels = points.map((p) => p.label);
  const datasets = ['publisher', 'subscriber'].map((side, i) => ({
    label: side === 'publisher' ? 'Publisher' : 'Subscriber', borderColor: color(i), backgroundColor: color(i),
    spanGaps: true, tension: 0.25, data: points.map((p) => read(p.row?.quality?.[side]) ?? null),
  }));
  if (!datasets.some((d) => d.data.some((v) => v !== null))) return fill(slot, empty());
  draw(slot, { type: 'line', label: `average ${unit} over time`, data: { labels, datasets },
    options: { scales: { y: yAxis(unit) }, plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt(c.raw)}` } } } } });
  slot.append(dataTable(labels, datasets, fmt));
}

export function render(slots, data, state) {
  const quality = rows(data, 'totals')[0]?.quality || {};
  const pub = quality.publisher || {};
  const sub = quality.subscriber || {};
  fill(slots.kpis,
    kpi('pubBitrate', 'Published video bitrate', pub.videoBitrateKbpsAvg, kbps(pub.videoBitrateKbpsAvg), 'average'),
    kpi('subBitrate', 'Subscribed video bitrate', sub.videoBitrateKbpsAvg, kbps(sub.videoBitrateKbpsAvg), 'average'),
    kpi('pubLatency', 'Publisher latency', pub.latencyMsAvg, ms(pub.latencyMsAvg), 'average'),
    kpi('subLatency', 'Subscriber latency', sub.latencyMsAvg, ms(sub.latencyMsAvg), 'average'));
  histogram(slots.bitrate, pub, sub, 'videoBitrateDistribution', BITRATE_BUCKETS, 'kbps', 'kbps');
  histogram(slots.latency, pub, sub, 'latencyDistribution', LATENCY_BUCKETS, 'ms', 'ms');
  scoreDistribution(slots.scores, quality.scoreDistribution, hasEndpointFilter(state));
  const points = timeline(rows(data, 'series'), state);
  issuesTrend(slots.issues, points);
  trend(slots.bitrateTrend, points, (q) => q?.videoBitrateKbpsAvg, kbps, 'kbps');
  trend(slots.latencyTrend, points, (q) => q?.latencyMsAvg, ms, 'ms');
}
