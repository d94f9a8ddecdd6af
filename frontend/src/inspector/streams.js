// Per-stream charts from the 30-second stats: video bitrate, latency and packet loss of the
// publisher and of every subscriber of the stream.
import { color, draw } from '../common/charts.js';
import { empty, fill, h } from '../common/dom.js';
import { compact, kbps, ms, pct, time } from '../common/format.js';

const METRICS = [
  ['Video bitrate', (s) => s.videoBitrateKbps ?? null, kbps, 'kbps'],
  ['Latency', (s) => s.videoLatencyMs ?? s.audioLatencyMs ?? null, ms, 'ms'],
  ['Packet loss', (s) => s.videoPacketLoss ?? s.audioPacketLoss ?? null, (v) => pct(v), '%'],
];

/** series: [{label, stats: [...samples]}], the publisher first. */
export function drawStreamCharts(container, series, truncated) {
  const withData = series.filter((s) => s.stats.length);
  if (!withData.length) return fill(container, empty('No stats samples for this stream.'));
  const grid = h('div', { class: 'grid grid-3 stream-charts' });
  fill(container, grid, truncated ? h('p', { class: 'note' }, 'Showing the first 1,000 samples of each side.') : null);
  for (const [title, read, fmt, unit] of METRICS) {
    const box = h('div', { class: 'metric', dataset: { metric: unit } }, h('h4', {}, title));
    const slot = h('div', {});
    box.append(slot);
    grid.append(box);
    const datasets = withData.map((s, i) => ({
      label: s.label,
      data: s.stats.map((x) => ({ x: Date.parse(x.createdAt), y: read(x) })).filter((p) => p.y !== null),
      borderColor: color(i), backgroundColor: color(i), borderWidth: i === 0 ? 2.5 : 1.5,
      borderDash: i === 0 ? [] : [5, 3], pointRadius: 0, tension: 0.2,
    }));
    if (!datasets.some((d) => d.data.length)) {
      fill(slot, empty(`No ${title.toLowerCase()} reported.`));
      continue;
    }
    draw(slot, { type: 'line', label: `${title} of the stream`, data: { datasets },
      options: {
        parsing: false, interaction: { mode: 'nearest', intersect: false },
        scales: { x: { type: 'linear', ticks: { callback: (v) => time(v), maxTicksLimit: 5 } },
          y: { beginAtZero: true, title: { display: true, text: unit }, ticks: { callback: (v) => (unit === '%' ? pct(v, 1) : compact(v)) } } },
        plugins: { legend: { display: datasets.length > 1, labels: { boxWidth: 10, font: { size: 11 } } },
          tooltip: { callbacks: { title: (c) => time(c[0].parsed.x), label: (c) => `${c.dataset.label}: ${fmt(c.parsed.y)}` } } },
      } });
  }
}
