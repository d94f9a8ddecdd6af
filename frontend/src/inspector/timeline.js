// Timelines drawn as floating bars on a time axis: meetings of a session, connections and streams of a meeting,
// with optional marks (detected issues) over a row's bar.
import { color, draw } from '../common/charts.js';
import { duration, time } from '../common/format.js';
import { overlayPlugin } from './overlay.js';

const ms = (iso) => Date.parse(iso);

/** Where a mark {row, start, end} (epoch ms) lies: its time span across the row's bar. */
function placeMark(chart, mark) {
  const bar = chart.getDatasetMeta(0).data[mark.row];
  if (!bar) return null;
  const x = chart.scales.x;
  const half = bar.height / 2;
  return { left: x.getPixelForValue(mark.start), right: x.getPixelForValue(mark.end), top: bar.y - half, bottom: bar.y + half };
}

/**
 * rows: [{label, start (ISO), end (ISO|null), colorIndex}]; open ends are drawn up to `now`.
 * marks: [{row (index), start, end (epoch ms), title, data}] drawn as `.timeline-mark` elements over the row.
 */
export function drawTimeline(container, rows, { label, now = Date.now(), onClick, marks = [] } = {}) {
  const data = rows.map((r) => [ms(r.start), r.end ? ms(r.end) : now]);
  const min = Math.min(...data.map((d) => d[0]));
  const max = Math.max(...data.map((d) => d[1]));
  const pad = Math.max((max - min) * 0.02, 1000);
  return draw(container, {
    type: 'bar',
    label,
    data: {
      labels: rows.map((r) => r.label),
      datasets: [{ data, backgroundColor: rows.map((r) => color(r.colorIndex ?? 0)), borderRadius: 3, barPercentage: 0.7, categoryPercentage: 0.9 }],
    },
    plugins: marks.length ? [overlayPlugin(marks.map((m) => ({ ...m, className: 'timeline-mark' })), placeMark)] : [],
    options: {
      indexAxis: 'y',
      onClick: onClick ? (_e, elements) => elements.length && onClick(elements[0].index) : undefined,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (c) => `${time(c.raw[0])} → ${rows[c.dataIndex].end ? time(c.raw[1]) : 'now'} (${duration(c.raw[1] - c.raw[0])})` } },
      },
      scales: {
        x: { type: 'linear', min: min - pad, max: max + pad, ticks: { callback: (v) => time(v), maxTicksLimit: 8 } },
        y: { ticks: { autoSkip: false, font: { size: 11 } } },
      },
    },
  }, { height: Math.min(60 + rows.length * 26, 900) });
}
