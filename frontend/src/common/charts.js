// Chart.js, registered once with only what the pages draw, and shared defaults.
import {
  ArcElement, BarController, BarElement, CategoryScale, Chart, DoughnutController, Filler, Legend,
  LinearScale, LineController, LineElement, PointElement, Tooltip,
} from 'chart.js';
import { h } from './dom.js';
import { compact } from './format.js';

Chart.register(ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Filler, Legend,
  LinearScale, LineController, LineElement, PointElement, Tooltip);

Chart.defaults.animation = false; // instant, and screenshots show the final drawing
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.responsive = true;
Chart.defaults.font.family = getComputedStyle(document.documentElement).getPropertyValue('--font').trim() || 'system-ui, sans-serif';
Chart.defaults.color = '#475569';
Chart.defaults.plugins.legend.labels.boxWidth = 12;

export const PALETTE = ['#4f46e5', '#0d9488', '#f59e0b', '#e11d48', '#0284c7', '#65a30d', '#7c3aed', '#ea580c',
  '#64748b', '#db2777', '#16a34a', '#ca8a04'];
export const color = (i) => PALETTE[i % PALETTE.length];

export { Chart };

/** Draw a chart into `container` (replacing its content); returns the Chart. */
export function draw(container, config, { height, className = '' } = {}) {
  const canvas = h('canvas', { role: 'img', 'aria-label': config.label || 'chart' });
  const box = h('div', { class: `chart ${className}`.trim() }, canvas);
  if (height) box.style.height = `${height}px`;
  container.replaceChildren(box);
  return new Chart(canvas, config);
}

/** Destroy every chart drawn inside `root` (before its content is replaced). */
export function destroyAll(root) {
  for (const canvas of root.querySelectorAll('canvas')) Chart.getChart(canvas)?.destroy();
}

/** y axis with compact ticks and an optional unit in the title. */
export function yAxis(title, extra = {}) {
  return { beginAtZero: true, title: { display: !!title, text: title }, ticks: { callback: (v) => compact(v) }, ...extra };
}
