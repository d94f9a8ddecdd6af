// Per-stream charts from the 30-second stats: video bitrate, latency, packet loss, jitter, round-trip time,
// frame rate and freezes of the publisher and of every subscriber of the stream; the publisher's available
// outgoing bitrate and why it limited its quality (W3C qualityLimitationReason).
import { color, draw } from '../common/charts.js';
import { empty, fill, h } from '../common/dom.js';
import { compact, count, kbps, ms, num, pct, time } from '../common/format.js';

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

/** series: [{label, stats: [...samples]}], the publisher first. */
export function drawStreamCharts(container, series, truncated) {
  const withData = series.filter((s) => s.stats.length);
  if (!withData.length) return fill(container, empty('No stats samples for this stream.'));
  const grid = h('div', { class: 'grid grid-3 stream-charts' });
  fill(container, grid, truncated ? h('p', { class: 'note' }, 'Showing the first 1,000 samples of each side.') : null);
  for (const [title, read, fmt, unit, key, publisherOnly] of METRICS) {
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
