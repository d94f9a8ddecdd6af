// The filter bar: date range, interval, and stacking multi-select filters (location and endpoint).
import { countryName } from '../common/countries.js';
import { h } from '../common/dom.js';
import { addDays, laToday } from '../common/format.js';
import { INTERVALS, LIST_FILTERS } from './state.js';

const LABELS = {
  country: 'Country', region: 'Region', sdkType: 'SDK', sdkVersion: 'SDK version', browser: 'Browser',
  browserVersion: 'Browser version',
};
const SDK_NAMES = { JS: 'JavaScript', IOS: 'iOS', ANDROID: 'Android', WINDOWS: 'Windows', OTHER: 'Other' };
const BROWSER_NAMES = { CHROME: 'Chrome', FIREFOX: 'Firefox', SAFARI: 'Safari', EDGE: 'Edge', IE: 'Internet Explorer', OTHER: 'Other' };
export const sdkName = (v) => SDK_NAMES[v] || v || 'Unknown';
export const browserName = (v) => BROWSER_NAMES[v] || v || 'None (native)';

/** Options of each list filter from the facets query: [{value, label}] sorted by label. */
export function optionsFrom(facets, state) {
  const sets = Object.fromEntries(LIST_FILTERS.map((k) => [k, new Map()]));
  const add = (key, value, label) => value && !sets[key].has(value) && sets[key].set(value, label);
  for (const r of facets.regions) {
    add('country', r.country, `${countryName(r.country)} (${r.country})`);
    if (!state.country.length || state.country.includes(r.country)) add('region', r.region, `${r.region} · ${r.country}`);
  }
  for (const r of facets.sdks) {
    add('sdkType', r.sdkType, sdkName(r.sdkType));
    if (!state.sdkType.length || state.sdkType.includes(r.sdkType)) add('sdkVersion', r.sdkVersion, `${r.sdkVersion} · ${sdkName(r.sdkType)}`);
  }
  for (const r of facets.browsers) {
    add('browser', r.browser, browserName(r.browser));
    if (!state.browser.length || state.browser.includes(r.browser)) add('browserVersion', r.browserVersion, `${r.browserVersion} · ${browserName(r.browser)}`);
  }
  const out = {};
  for (const key of LIST_FILTERS) {
    for (const value of state[key]) add(key, value, value); // a selected value stays visible to unselect it
    out[key] = [...sets[key]].map(([value, label]) => ({ value, label })).sort((a, b) => a.label.localeCompare(b.label));
  }
  return out;
}

function multiSelect(key, options, selected, onChange) {
  const summaryText = () => {
    const chosen = [...el.querySelectorAll('input:checked')].map((i) => i.value);
    return chosen.length ? `${LABELS[key]}: ${chosen.length > 2 ? `${chosen.length} selected` : chosen.join(', ')}` : `${LABELS[key]}: all`;
  };
  const summary = h('summary', {});
  const list = h('div', { class: 'options', role: 'group', 'aria-label': LABELS[key] },
    options.length ? options.map((o) => h('label', {},
      h('input', { type: 'checkbox', value: o.value, checked: selected.includes(o.value), name: key,
        onchange: () => { summary.textContent = summaryText(); onChange(key, [...el.querySelectorAll('input:checked')].map((i) => i.value)); } }),
      o.label)) : h('div', { class: 'none' }, 'No values in this date range'));
  const el = h('details', { class: 'multi', dataset: { filter: key, active: String(selected.length > 0) } }, summary, list);
  summary.textContent = summaryText();
  return el;
}

/** Draw the filter bar; `onChange(patch)` receives the changed part of the state. */
export function renderFilters(container, state, options, onChange) {
  const date = (name, value) => h('input', { type: 'date', name, value, max: laToday(),
    onchange: (e) => e.target.value && onChange({ [name]: e.target.value }) });
  const preset = (days) => h('button', { type: 'button', dataset: { preset: days },
    onclick: () => onChange({ start: addDays(laToday(), -(days - 1)), end: laToday() }) }, `${days}d`);
  container.replaceChildren(
    h('label', { class: 'field' }, h('span', {}, 'From'), date('start', state.start)),
    h('label', { class: 'field' }, h('span', {}, 'To'), date('end', state.end)),
    h('div', { class: 'presets', role: 'group', 'aria-label': 'Date presets' }, preset(7), preset(30), preset(90)),
    h('label', { class: 'field' }, h('span', {}, 'Interval'),
      h('select', { name: 'interval', onchange: (e) => onChange({ interval: e.target.value }) },
        INTERVALS.map((i) => h('option', { value: i, selected: i === state.interval }, i[0] + i.slice(1).toLowerCase())))),
    ...LIST_FILTERS.map((key) => multiSelect(key, options[key] || [], state[key], (k, values) => onChange({ [k]: values }))),
    h('button', { type: 'button', class: 'reset', onclick: () => onChange(Object.fromEntries(LIST_FILTERS.map((k) => [k, []]))) }, 'Clear filters'),
  );
}

/** Close an open multi-select when clicking elsewhere. */
document.addEventListener('click', (e) => {
  for (const d of document.querySelectorAll('details.multi[open]')) if (!d.contains(e.target)) d.open = false;
});
