// Delivery: a bounded queue posted in batches to POST /v1/events, retried with exponential
// backoff and jitter on network errors, 5xx and 429 (honouring Retry-After). Event ids are fixed
// when an event is queued, so a retried batch is a no-op on the server. A refused credential
// (401/403) stops sending for good. Nothing here throws or rejects into the app.

const STATS = new Set(['publisherStats', 'subscriberStats']);
const KEEPALIVE_BYTES = 60000; // browsers cap keepalive bodies in flight at 64 KiB

/** Trim a queue over `max` events: the oldest stats snapshots go first, lifecycle events never. */
export function trimQueue(queue, max) {
  let excess = queue.length - max;
  if (excess <= 0) return queue;
  return queue.filter((e) => !(excess > 0 && STATS.has(e.type) && excess-- > 0));
}

/** Delay before retry `attempt` (1, 2, ...): full jitter over an exponential ceiling, at least Retry-After. */
export function backoffMs(attempt, { baseMs = 1000, maxMs = 60000, retryAfterS, random = Math.random } = {}) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  const floor = Number.isFinite(retryAfterS) ? retryAfterS * 1000 : 0;
  return Math.max(jittered, floor);
}

/** Retry-After as seconds (a number of seconds or an HTTP date). */
export function parseRetryAfter(value, now = Date.now()) {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, (at - now) / 1000) : undefined;
}

/** Split events into bodies of at most `maxBytes` (JSON arrays). */
export function chunks(events, maxBytes) {
  const out = [];
  let part = [];
  let size = 2;
  for (const e of events) {
    const n = JSON.stringify(e).length + 1;
    if (part.length && size + n > maxBytes) {
      out.push(part);
      part = [];
      size = 2;
    }
    part.push(e);
    size += n;
  }
  if (part.length) out.push(part);
  return out;
}

export class Sender {
  constructor(opts) {
    this.opts = opts; // {url, key, token, maxQueue, batchSize, baseBackoffMs, maxBackoffMs, fetch, warn, onStop}
    this.queue = [];
    this.batchSize = opts.batchSize;
    this.attempt = 0;
    this.timer = null;
    this.inflight = null;
    this.stopped = false;
    this.lastToken = null;
    this.sent = 0;
  }

  push(events) {
    if (this.stopped) return;
    this.queue = trimQueue(this.queue.concat(events), this.opts.maxQueue);
  }

  /** Send soon (after `delayMs`), unless a send or a retry is already planned. */
  schedule(delayMs = 0) {
    if (this.stopped || this.timer || this.inflight) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, delayMs);
  }

  endpoint() {
    const base = `${this.opts.url.replace(/\/+$/, '')}/v1/events`;
    return this.opts.key ? `${base}?key=${encodeURIComponent(this.opts.key)}` : base;
  }

  async headers() {
    // text/plain keeps a keyed POST a "simple" CORS request: no preflight per batch.
    const h = { 'Content-Type': 'text/plain;charset=UTF-8' };
    if (!this.opts.key && this.opts.token) {
      this.lastToken = await this.opts.token();
      h['X-OPENTOK-AUTH'] = this.lastToken;
    }
    return h;
  }

  /** Post everything queued, batch by batch; resolves when the queue is empty or a retry is planned. */
  flush() {
    if (this.stopped) return Promise.resolve();
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.inflight ??= this.drain().catch((err) => this.opts.warn(`sending failed: ${err}`)).finally(() => {
      this.inflight = null;
      // events queued while the last answer was on its way would otherwise wait for the next one
      if (this.queue.length && !this.timer && !this.stopped) this.schedule(this.opts.sendDelayMs ?? 0);
    });
    return this.inflight;
  }

  async drain() {
    while (!this.stopped && this.queue.length) {
      const batch = this.queue.slice(0, this.batchSize);
      let response;
      try {
        response = await this.opts.fetch(this.endpoint(), {
          method: 'POST', headers: await this.headers(), body: JSON.stringify(batch), credentials: 'omit',
        });
      } catch {
        return this.retry();
      }
      const status = response.status;
      if (status === 401 || status === 403) return this.stop(`the server refused the credential (HTTP ${status})`);
      if (status === 429 || status >= 500) return this.retry(parseRetryAfter(response.headers.get('Retry-After')));
      if (status === 413 && this.batchSize > 1) {
        this.batchSize = Math.ceil(this.batchSize / 2);
        continue;
      }
      if (status >= 400) this.opts.warn(`the server rejected ${batch.length} events (HTTP ${status})`);
      else this.sent += batch.length;
      // 2xx: committed (invalid events are listed in `rejected` and would fail again); 4xx: same.
      const done = new Set(batch);
      this.queue = this.queue.filter((e) => !done.has(e));
      this.attempt = 0;
    }
  }

  retry(retryAfterS) {
    this.attempt += 1;
    const delay = backoffMs(this.attempt, { baseMs: this.opts.baseBackoffMs, maxMs: this.opts.maxBackoffMs, retryAfterS });
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, delay);
  }

  stop(why) {
    if (this.stopped) return;
    this.stopped = true;
    this.queue = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.opts.warn(`${why}; it stops sending.`);
    this.opts.onStop?.();
  }

  /** Last chance as the page goes away: keepalive fetches (no answer awaited), else sendBeacon. */
  beacon() {
    if (this.stopped || !this.queue.length) return;
    const url = this.endpoint();
    const headers = { 'Content-Type': 'text/plain;charset=UTF-8' };
    if (!this.opts.key && this.lastToken) headers['X-OPENTOK-AUTH'] = this.lastToken;
    for (const part of chunks(this.queue, KEEPALIVE_BYTES)) {
      const body = JSON.stringify(part);
      try {
        this.opts.fetch(url, { method: 'POST', headers, body, keepalive: true, credentials: 'omit' }).catch(() => {});
      } catch {
        try {
          globalThis.navigator?.sendBeacon?.(url, new Blob([body], { type: 'text/plain' }));
        } catch {
          // nothing more can be done while the page unloads
        }
      }
    }
    this.queue = [];
  }
}
