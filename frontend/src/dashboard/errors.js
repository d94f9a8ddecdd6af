// Errors tab: failure rates of connect, publish and subscribe over time and by browser, SDK and country.
import { color, draw } from '../common/charts.js';
import { countryName } from '../common/countries.js';
import { card, empty, fill, h, kpi } from '../common/dom.js';
import { count, pct } from '../common/format.js';
import { browserName, sdkName } from './filters.js';
import { errorsQuery, rows } from './queries.js';
import { dataTable, timeline } from './series.js';

export const document = errorsQuery;
const KINDS = [['connect', 'Connect'], ['publish', 'Publish'], ['subscribe', 'Subscribe']];
const rateAxis = { beginAtZero: true, ticks: { callback: (v) => pct(v, 1) }, title: { display: true, text: 'failure rate' } };
const attempts = (r) => KINDS.reduce((n, [k]) => n + (r.errors?.[k]?.attempts || 0), 0);

export function layout(root) {
  const kpis = h('div', { class: 'kpis' });
  const over = card('Failure rates over time', { id: 'errors-over-time', wide: true });
  const browser = card('By browser', { id: 'errors-browser' });
  const sdk = card('By SDK', { id: 'errors-sdk' });
  const country = card('By country', { id: 'errors-country', wide: true, note: 'The 15 countries with the most attempts.' });
  root.replaceChildren(kpis, h('div', { class: 'grid' }, over.el, browser.el, sdk.el, country.el));
  return { kpis, over: over.body, browser: browser.body, sdk: sdk.body, country: country.body };
}

function grouped(slot, groupRows, name, label) {
  const sorted = groupRows.filter((r) => attempts(r) > 0).sort((a, b) => attempts(b) - attempts(a)).slice(0, 15);
  if (!sorted.length) return fill(slot, empty());
  const labels = sorted.map(name);
  const datasets = KINDS.map(([key, title], i) => ({
    label: title, backgroundColor: color(i + 3), data: sorted.map((r) => r.errors?.[key]?.failureRate ?? null),
    attempts: sorted.map((r) => r.errors?.[key]?.attempts ?? 0),
  }));
  draw(slot, { type: 'bar', label, data: { labels, datasets },
    options: { scales: { y: rateAxis },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${pct(c.raw)} of ${count(c.dataset.attempts[c.dataIndex])} attempts` } } } } });
  slot.append(dataTable(labels, datasets, pct));
}

export function render(slots, data, state) {
  const errors = rows(data, 'totals')[0]?.errors || {};
  fill(slots.kpis, KINDS.map(([key, title]) => {
    const e = errors[key] || {};
    return kpi(`${key}Rate`, `${title} failures`, e.failureRate, pct(e.failureRate), `${count(e.failures)} of ${count(e.attempts)} attempts`);
  }));
  const points = timeline(rows(data, 'series'), state);
  const labels = points.map((p) => p.label);
  const datasets = KINDS.map(([key, title], i) => ({
    label: title, borderColor: color(i + 3), backgroundColor: color(i + 3), tension: 0.25, spanGaps: true,
    data: points.map((p) => p.row?.errors?.[key]?.failureRate ?? null),
  }));
  if (!datasets.some((d) => d.data.some((v) => v !== null))) fill(slots.over, empty());
  else {
    draw(slots.over, { type: 'line', label: 'failure rates over time', data: { labels, datasets },
      options: { scales: { y: rateAxis }, plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${pct(c.raw)}` } } } } });
    slots.over.append(dataTable(labels, datasets, pct));
  }
  grouped(slots.browser, rows(data, 'byBrowser'), (r) => browserName(r.browser), 'failure rates by browser');
  grouped(slots.sdk, rows(data, 'bySdk'), (r) => sdkName(r.sdkType), 'failure rates by SDK');
  grouped(slots.country, rows(data, 'byCountry'), (r) => (r.country ? countryName(r.country) : 'Unknown'), 'failure rates by country');
}
