// Usage tab: minutes of every kind over time, the map, SDK and browser breakdowns, participant tiers.
import { color, draw, yAxis } from '../common/charts.js';
import { countryName } from '../common/countries.js';
import { card, empty, fill, h, kpi } from '../common/dom.js';
import { minutes } from '../common/format.js';
import { browserName, sdkName } from './filters.js';
import { rows, TIERS, usageQuery } from './queries.js';
import { dataTable, timeline } from './series.js';
import { hasEndpointFilter } from './state.js';

export const document = usageQuery;

const sum = (...values) => (values.every((v) => v === null || v === undefined) ? null : values.reduce((a, v) => a + (v || 0), 0));
/** The stacked kinds of minutes: label and how to read them from a `usage` object. */
const KINDS = [
  ['Published', (u) => u.streamedPublishedMinutes],
  ['Subscribed', (u) => u.streamedSubscribedMinutes],
  ['Archives', (u) => sum(u.hdArchiveComposedMinutes, u.sdArchiveComposedMinutes, u.individualArchiveMinutes)],
  ['Broadcasts', (u) => sum(u.hdBroadcastComposedMinutes, u.sdBroadcastComposedMinutes)],
  ['HLS', (u) => u.hlsMinutes],
  ['SIP', (u) => u.sipUserMinutes],
  ['Experience Composer', (u) => sum(u.experienceComposer, u.experienceComposerArchive, u.experienceComposerBroadcast)],
];
const streamed = (r) => (r.usage?.streamedPublishedMinutes || 0) + (r.usage?.streamedSubscribedMinutes || 0);
const SESSION_ONLY = 'Counted per session: not available with location, SDK or browser filters.';

export function layout(root) {
  const kpis = h('div', { class: 'kpis' });
  const over = card('Minutes over time', { id: 'usage-over-time', wide: true });
  const map = card('Where minutes were generated', { id: 'usage-map', wide: true, note: 'Streamed minutes (published + subscribed) by country of the endpoint.' });
  const sdk = card('By SDK', { id: 'usage-sdk' });
  const browser = card('By browser', { id: 'usage-browser' });
  const tiers = card('Participant minutes by tier', { id: 'usage-tiers', wide: true, note: 'Tiers of different rate plans overlap: a minute counts in every tier that contains its number of publishers.' });
  root.replaceChildren(kpis, h('div', { class: 'grid' }, over.el, map.el, sdk.el, browser.el, tiers.el));
  return { kpis, over: over.body, map: map.body, sdk: sdk.body, browser: browser.body, tiers: tiers.body };
}

export async function render(slots, data, state) {
  const total = rows(data, 'totals')[0]?.usage || {};
  const filtered = hasEndpointFilter(state);
  fill(slots.kpis, KINDS.map(([label, read], i) => {
    const value = read(total);
    const key = ['published', 'subscribed', 'archives', 'broadcasts', 'hls', 'sip', 'composer'][i];
    return kpi(key, `${label} minutes`, value, minutes(value), value === null && filtered ? 'n/a with filters' : null);
  }));

  // minutes over time, stacked
  const points = timeline(rows(data, 'series'), state);
  const labels = points.map((p) => p.label);
  const datasets = KINDS.map(([label, read], i) => ({
    label, backgroundColor: color(i), stack: 'minutes',
    data: points.map((p) => (p.row ? read(p.row.usage || {}) ?? null : 0)),
  })).filter((d) => d.data.some((v) => v));
  if (!datasets.length) fill(slots.over, empty());
  else {
    draw(slots.over, { type: 'bar', label: 'Minutes over time', data: { labels, datasets },
      options: { scales: { x: { stacked: true }, y: yAxis('minutes', { stacked: true }) },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${minutes(c.raw)}` } } } } });
    slots.over.append(dataTable(labels, datasets, minutes));
  }

  // map and the countries table
  const byCountry = rows(data, 'byCountry').filter((r) => r.country && streamed(r) > 0).sort((a, b) => streamed(b) - streamed(a));
  if (!byCountry.length) fill(slots.map, empty());
  else {
    const mapBox = h('div', { class: 'map-box' });
    const table = h('div', { class: 'table-wrap country-table' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Country'), h('th', { class: 'num' }, 'Streamed minutes'))),
      h('tbody', {}, byCountry.slice(0, 12).map((r) => h('tr', { dataset: { country: r.country } },
        h('td', {}, countryName(r.country)), h('td', { class: 'num', dataset: { value: streamed(r) } }, minutes(streamed(r))))))));
    fill(slots.map, h('div', { class: 'map-layout' }, mapBox, table));
    const { drawMap } = await import('./map.js');
    drawMap(mapBox, new Map(byCountry.map((r) => [r.country, streamed(r)])));
  }

  breakdown(slots.sdk, rows(data, 'bySdk'), (r) => sdkName(r.sdkType), 'Minutes by SDK');
  breakdown(slots.browser, rows(data, 'byBrowser'), (r) => browserName(r.browser), 'Minutes by browser');

  // participant minutes by tier: session-level, so null under endpoint filters
  const tiers = total.participantMinutes;
  if (!tiers || TIERS.every((t) => tiers[t] === null || tiers[t] === undefined)) fill(slots.tiers, empty(filtered ? SESSION_ONLY : undefined));
  else {
    const tierLabels = TIERS.map((t) => t.replace('from', '').replace('Publishers', '').replace('To', '–').replace('Plus', '+'));
    const tierData = [{ label: 'Participant minutes', backgroundColor: color(6), data: TIERS.map((t) => tiers[t]) }];
    draw(slots.tiers, { type: 'bar', label: 'Participant minutes by tier', data: { labels: tierLabels, datasets: tierData },
      options: { plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => minutes(c.raw), title: (c) => `${c[0].label} publishers` } } },
        scales: { y: yAxis('minutes'), x: { title: { display: true, text: 'publishers in the session' } } } } });
    slots.tiers.append(dataTable(tierLabels, tierData, minutes));
  }
}

/** Horizontal stacked bars of published and subscribed minutes per group. */
function breakdown(slot, groupRows, name, label) {
  const sorted = groupRows.filter((r) => streamed(r) > 0).sort((a, b) => streamed(b) - streamed(a));
  if (!sorted.length) return fill(slot, empty());
  const labels = sorted.map(name);
  const datasets = [
    { label: 'Published', backgroundColor: color(0), data: sorted.map((r) => r.usage.streamedPublishedMinutes) },
    { label: 'Subscribed', backgroundColor: color(1), data: sorted.map((r) => r.usage.streamedSubscribedMinutes) },
  ];
  draw(slot, { type: 'bar', label, data: { labels, datasets },
    options: { indexAxis: 'y', scales: { x: yAxis('minutes', { stacked: true }), y: { stacked: true } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${minutes(c.raw)}` } } } } });
  slot.append(dataTable(labels, datasets, minutes));
}
