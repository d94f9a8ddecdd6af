// Readable numbers: thousands separators, units, and a dash for "no value".
export const DASH = '–';
const TZ = 'America/Los_Angeles'; // the reporting time zone of the Insights API

const cache = new Map();
function nf(options) {
  const key = JSON.stringify(options);
  if (!cache.has(key)) cache.set(key, new Intl.NumberFormat(undefined, options));
  return cache.get(key);
}

const missing = (v) => v === null || v === undefined || Number.isNaN(v);

/** Up to `digits` decimals, with separators. */
export function num(v, digits = 0) {
  return missing(v) ? DASH : nf({ maximumFractionDigits: digits }).format(v);
}

/** Minutes: whole above 100, one decimal below. */
export function minutes(v) {
  return missing(v) ? DASH : `${num(v, Math.abs(v) >= 100 ? 0 : 1)} min`;
}

export function kbps(v) {
  return missing(v) ? DASH : `${num(v, Math.abs(v) >= 100 ? 0 : 1)} kbps`;
}

export function ms(v) {
  return missing(v) ? DASH : `${num(v, Math.abs(v) >= 100 ? 0 : 1)} ms`;
}

/** A ratio between 0 and 1 as a percentage. */
export function pct(v, digits = 2) {
  return missing(v) ? DASH : nf({ style: 'percent', maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(v);
}

/** Short numbers for chart axes: 1.2K, 3.4M. */
export function compact(v) {
  return missing(v) ? DASH : nf({ notation: 'compact', maximumFractionDigits: 1 }).format(v);
}

export function count(v) {
  return num(v, 0);
}

/** An ISO instant as a local date and time. */
export function dateTime(iso) {
  if (!iso) return DASH;
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function time(ms_) {
  return new Date(ms_).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** The America/Los_Angeles day an interval starts on, as the API counts days (YYYY-MM-DD). */
export function laDay(iso) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(new Date(iso));
}

/** Today in America/Los_Angeles, YYYY-MM-DD. */
export function laToday() {
  return laDay(new Date().toISOString());
}

/** YYYY-MM-DD plus n days. */
export function addDays(day, n) {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** A length of time: "42 s", "3 min 05 s", "1 h 02 min". */
export function duration(msValue) {
  if (missing(msValue)) return DASH;
  const s = Math.round(msValue / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
