// Time series helpers: interval labels, gap filling, and a data table under each chart.
import { h } from '../common/dom.js';
import { addDays, laDay } from '../common/format.js';

const dayLabel = (day, opts) => new Date(`${day}T12:00:00Z`).toLocaleDateString(undefined, { timeZone: 'UTC', ...opts });

export function intervalLabel(day, interval) {
  if (interval === 'MONTHLY') return dayLabel(day, { month: 'short', year: 'numeric' });
  if (interval === 'WEEKLY') return `Wk ${dayLabel(day, { month: 'short', day: 'numeric' })}`;
  return dayLabel(day, { month: 'short', day: 'numeric' });
}

/**
 * Rows keyed by their LA day. Daily series get every day of the range (days without data are
 * zero); weekly and monthly ones keep the intervals the API returned.
 */
export function timeline(resources, state) {
  const byDay = new Map(resources.map((r) => [laDay(r.intervalStart), r]));
  let days = [...byDay.keys()].sort();
  if (state.interval === 'DAILY' && state.start <= state.end) {
    days = [];
    for (let d = state.start; d <= state.end; d = addDays(d, 1)) days.push(d);
  }
  return days.map((day) => ({ day, label: intervalLabel(day, state.interval), row: byDay.get(day) || null }));
}

/** A collapsible table of what a chart shows (labels x datasets), formatted with `fmt`. */
export function dataTable(labels, datasets, fmt, caption = 'Show data') {
  const table = h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, ''), datasets.map((d) => h('th', { class: 'num' }, d.label)))),
    h('tbody', {}, labels.map((label, i) => h('tr', {},
      h('th', { scope: 'row' }, label),
      datasets.map((d) => h('td', { class: 'num', dataset: { value: d.data[i] ?? '' } }, fmt(d.data[i])))))));
  return h('details', { class: 'data-table' }, h('summary', {}, caption), h('div', { class: 'table-wrap' }, table));
}
