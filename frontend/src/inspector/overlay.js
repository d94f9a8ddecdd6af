// Marks laid over a chart as positioned elements rather than canvas pixels: each carries its data attributes
// and a tooltip (title), and stays in place as Chart.js lays the chart out again (resize, redraw).
import { h } from '../common/dom.js';

/**
 * A Chart.js plugin that places one element per mark; `place(chart, mark)` gives {left, right, top, bottom} in
 * canvas pixels, or null to hide it. Marks: {className, title, data (dataset attributes), ...what place reads}.
 */
export function overlayPlugin(marks, place) {
  const els = marks.map((m) => h('div', { class: m.className, title: m.title, role: 'img', 'aria-label': m.title, dataset: m.data }));
  return {
    id: 'overlay',
    afterDraw(chart) {
      const canvas = chart.canvas;
      const area = chart.chartArea;
      marks.forEach((mark, i) => {
        const el = els[i];
        if (!el.isConnected) canvas.parentNode.append(el);
        const p = place(chart, mark);
        const left = p && Math.max(p.left, area.left);
        const right = p && Math.min(p.right, area.right);
        el.hidden = !p || right < left;
        if (el.hidden) return;
        Object.assign(el.style, {
          left: `${canvas.offsetLeft + left}px`, width: `${Math.max(right - left, 2)}px`,
          top: `${canvas.offsetTop + p.top}px`, height: `${p.bottom - p.top}px`,
        });
      });
    },
  };
}
