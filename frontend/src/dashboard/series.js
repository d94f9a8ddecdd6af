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

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function csvField(value) {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The table as CSV: a header row, then one row per label with the exact (unformatted) values. */
export function tableCsv(labels, datasets, corner = '') {
  const rows = [[corner, ...datasets.map((d) => d.label)], ...labels.map((label, i) => [label, ...datasets.map((d) => d.data[i])])];
  return `${rows.map((row) => row.map(csvField).join(',')).join('\r\n')}\r\n`;
}

const slug = (text) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'data';

/**
 * A collapsible table of what a chart shows (labels x datasets), formatted with `fmt`, and a link
 * that downloads the same rows as CSV (a Blob made on click, so nothing is built for unopened tables).
 */
export function dataTable(labels, datasets, fmt, caption = 'Show data', name = null) {
  const table = h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, ''), datasets.map((d) => h('th', { class: 'num' }, d.label)))),
    h('tbody', {}, labels.map((label, i) => h('tr', {},
      h('th', { scope: 'row' }, label),
      datasets.map((d) => h('td', { class: 'num', dataset: { value: d.data[i] ?? '' } }, fmt(d.data[i])))))));
  const filename = `${slug(name || datasets.map((d) => d.label).join(' '))}.csv`;
  const download = h('a', {
    class: 'csv-download', href: '#', download: filename,
    onclick: (event) => {
      const link = event.currentTarget;
      if (link.dataset.url) URL.revokeObjectURL(link.dataset.url);
      link.dataset.url = URL.createObjectURL(new Blob([tableCsv(labels, datasets)], { type: 'text/csv' }));
      link.href = link.dataset.url;
    },
  }, 'Download CSV');
  return h('details', { class: 'data-table' }, h('summary', {}, caption),
    h('div', { class: 'table-wrap' }, table), download);
}
