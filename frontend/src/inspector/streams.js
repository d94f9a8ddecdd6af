// Per-stream charts from the 30-second stats: video bitrate, latency, packet loss, jitter, round-trip time,
// frame rate and freezes of the publisher and of every subscriber of the stream; the publisher's available
// outgoing bitrate and why it limited its quality (W3C qualityLimitationReason). Detected issues of the stream
// (docs/quality.md) are listed above the charts and shaded as bands on the chart of their metric.
import { color, draw } from '../common/charts.js';
import { empty, fill, h } from '../common/dom.js';
import { compact, count, kbps, ms, num, pct, time } from '../common/format.js';
import { evidence, issueChart, issueLabel } from '../common/issues.js';
import { overlayPlugin } from './overlay.js';

// Quality limitation reasons on a 0..3 axis, in the order of the API's QualityLimitationDistribution.
const REASONS = ['none', 'bandwidth', 'cpu', 'other'];
const reasonLevel = (s) => (s.qualityLimitationReason ? REASONS.indexOf(s.qualityLimitationReason) : -1);

// [title, read a sample, format a value, axis unit, data-metric key, publisher only]
const METRICS = [
  ['Video bitrate', (s) => s.videoBitrateKbps ?? null, kbps, 'kbps', 'kbps'],
  ['Latency', (s) => s.videoLatencyMs ?? s.audioLatencyMs ?? null, ms, 'ms', 'ms'],
  ['Packet loss', (s) => s.videoPacketLoss ?? s.audioPacketLoss ?? null, (v) => pct(v), '%', '%'],
  ['Jitter', (s) => s.jitterMs ?? null, ms, 'ms', 'jitter'],
  ['Round-trip time', (s) => s.roundTripMs ?? null, ms, 'ms', 'rtt'],
  ['Frame rate', (s) => s.frameRate ?? null, (v) => `${num(v, 1)} fps`, 'fps', 'fps'],
  ['Freezes', (s) => s.freezeCount ?? null, (v) => `${count(v)} per sample`, 'per sample', 'freezes'],
  ['Available outgoing bitrate', (s) => s.availableOutgoingBitrateKbps ?? null, kbps, 'kbps', 'available', true],
  ['Quality limitation', (s) => (reasonLevel(s) < 0 ? null : reasonLevel(s)), (v) => REASONS[v], 'reason', 'limitation', true],
];

const ticks = (unit) => (v) => {
  if (unit === '%') return pct(v, 1);
  if (unit === 'reason') return REASONS[v] ?? '';
  return compact(v);
};

/** The data attributes that name an issue in the page (markers, bands and list items alike). */
export const issueData = (issue, who) => ({
  issueType: issue.type, start: issue.start, end: issue.end, connection: issue.connectionId || '', who,
});

/** "High packet loss, 10:05:00 → 10:10:00: packet loss 5% (threshold 3%), publisher A". */
export const issueText = (issue, who) =>
  `${issueLabel(issue.type)}, ${time(Date.parse(issue.start))} → ${time(Date.parse(issue.end))}: ${evidence(issue)}, ${who}`;

/** A band over the whole height of the chart area for the issue's time span. */
function placeBand(chart, band) {
  const x = chart.scales.x;
  return { left: x.getPixelForValue(band.start), right: x.getPixelForValue(band.end), top: chart.chartArea.top, bottom: chart.chartArea.bottom };
}

/** The issues as a list: [{issue, who}]. */
export function issueList(issues) {
  return h('ul', { class: 'issue-list' }, issues.map(({ issue, who }) => h('li', { class: 'issue-item', dataset: issueData(issue, who) },
    h('span', { class: 'issue-swatch', 'aria-hidden': 'true' }), issueText(issue, who))));
}

/**
 * series: [{label, stats: [...samples]}], the publisher first; issues: [{issue, who}] of the stream (its publisher's
 * and its subscribers'), `who` naming the side it was seen on.
 */
export function drawStreamCharts(container, series, truncated, issues = []) {
  const withData = series.filter((s) => s.stats.length);
  const list = issues.length ? issueList(issues) : null;
  if (!withData.length) return fill(container, list, empty('No stats samples for this stream.'));
  const grid = h('div', { class: 'grid grid-3 stream-charts' });
  fill(container, list, grid, truncated ? h('p', { class: 'note' }, 'Showing the first 1,000 samples of each side.') : null);
  for (const [title, read, fmt, unit, key, publisherOnly] of METRICS) {
    const bands = issues.filter(({ issue }) => [key, null].includes(issueChart(issue))).map(({ issue, who }) => ({
      start: Date.parse(issue.start), end: Date.parse(issue.end), className: 'issue-band', title: issueText(issue, who),
      data: issueData(issue, who),
    }));
    const box = h('div', { class: 'metric', dataset: { metric: key } }, h('h4', {}, title));
    const slot = h('div', {});
    box.append(slot);
    grid.append(box);
    const sides = publisherOnly ? withData.filter((s) => s.label === 'publisher') : withData;
    const datasets = sides.map((s, i) => ({
      label: s.label,
      data: s.stats.map((x) => ({ x: Date.parse(x.createdAt), y: read(x) })).filter((p) => p.y !== null),
      borderColor: color(i), backgroundColor: color(i), borderWidth: i === 0 ? 2.5 : 1.5,
      borderDash: i === 0 ? [] : [5, 3], pointRadius: 0, tension: unit === 'reason' ? 0 : 0.2,
      stepped: unit === 'reason',
    }));
    if (!datasets.some((d) => d.data.length)) {
      fill(slot, empty(`No ${title.toLowerCase()} reported.`));
      continue;
    }
    draw(slot, { type: 'line', label: `${title} of the stream`, data: { datasets },
      plugins: bands.length ? [overlayPlugin(bands, placeBand)] : [],
      options: {
        parsing: false, interaction: { mode: 'nearest', intersect: false },
        scales: { x: { type: 'linear', ticks: { callback: (v) => time(v), maxTicksLimit: 5 } },
          y: { beginAtZero: true, title: { display: true, text: unit }, ticks: { callback: ticks(unit), ...(unit === 'reason' ? { stepSize: 1 } : {}) },
            ...(unit === 'reason' ? { min: 0, max: REASONS.length - 1 } : {}) } },
        plugins: { legend: { display: datasets.length > 1, labels: { boxWidth: 10, font: { size: 11 } } },
          tooltip: { callbacks: { title: (c) => time(c[0].parsed.x), label: (c) => `${c.dataset.label}: ${fmt(c.parsed.y)}` } } },
      } });
  }
}
