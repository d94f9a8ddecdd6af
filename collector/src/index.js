// videoinsights browser collector: instrument RTCPeerConnections, send our events to a
// videoinsights server. The core knows no WebRTC stack: any app that has peer connections
// (plain WebRTC, Vonage Video, LiveKit, ...) works through watch() or wrap().

import { Sender } from './delivery.js';
import { detectEndpoint, parseUserAgent } from './endpoint.js';
import { toPlain } from './stats.js';
import { PcWatcher } from './watcher.js';

// eslint-disable-next-line no-undef
export const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

const DEFAULTS = {
  intervalMs: 30000, maxQueue: 1000, batchSize: 200, baseBackoffMs: 1000, maxBackoffMs: 60000, sendDelayMs: 250,
  autoAttempts: true,
};

function randomId(bytes = 8) {
  const a = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

class Collector {
  constructor(options) {
    this.opts = { ...DEFAULTS, ...options };
    const { url, sessionId, key, token } = this.opts;
    this.disabled = !url || !sessionId || (!key && typeof token !== 'function');
    this.connectionId = String(this.opts.connectionId || randomId());
    this.instance = randomId(6); // event ids: `<instance>-<n>`, fixed when queued, so retries are no-ops
    this.seq = 0;
    this.subSeq = 0;
    this.watchers = [];
    this.streams = new Map(); // published streamId -> {stream, owner}
    this.attempted = new Set();
    this.closed = false;
    this.warned = new Set();
    this.sender = new Sender({
      ...this.opts, fetch: (...a) => (this.opts.fetch || globalThis.fetch)(...a), warn: (m) => this.warn(m),
      onStop: () => this.stopTimers(),
    });
    if (this.disabled) {
      this.warn('createCollector needs url, sessionId and a key or a token function; nothing will be sent');
      this.closed = true;
      return;
    }
    this.createdAt = Date.now();
    this.endpoint = { ...this.syncEndpoint(), ...this.opts.endpoint };
    this.connected = false;
    this.ready = detectEndpoint(VERSION).then((dims) => {
      this.endpoint = { ...dims, ...this.opts.endpoint };
    }).catch(() => {}).then(() => this.announce());
    this.timer = setInterval(() => this.sample(), this.opts.intervalMs);
    this.onHide = () => this.guard(() => this.pageHidden());
    this.onLeaving = () => this.sample(); // the final snapshot, taken while the page can still await it
    this.onVisibility = () => { if (globalThis.document?.visibilityState === 'hidden') this.sample().then(() => this.flush()); };
    globalThis.addEventListener?.('pagehide', this.onHide);
    globalThis.addEventListener?.('beforeunload', this.onLeaving);
    globalThis.document?.addEventListener?.('visibilitychange', this.onVisibility);
  }

  get stopped() {
    return this.sender.stopped;
  }

  warn(message) {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    try {
      globalThis.console?.warn(`[videoinsights] ${message}`);
    } catch {
      // a console is a courtesy
    }
  }

  /** Run `fn`, never letting an error reach the app. */
  guard(fn) {
    try {
      return fn();
    } catch (err) {
      this.warn(`internal error: ${err?.message || err}`);
      return undefined;
    }
  }

  syncEndpoint() {
    const ua = globalThis.navigator?.userAgent || '';
    return { sdkType: 'JS', sdkVersion: VERSION, ...(ua ? { userAgent: ua.slice(0, 512) } : {}), ...parseUserAgent(ua) };
  }

  announce() {
    if (this.connected || this.disabled) return;
    this.connected = true;
    this.emit('connectionCreated', { connectionId: this.connectionId, ...this.endpoint }, this.createdAt);
  }

  emit(type, fields, timestamp = Date.now()) {
    if (this.disabled || this.closed || this.sender.stopped) return; // after the end nothing more is sent
    const event = { id: `${this.instance}-${++this.seq}`, type, sessionId: String(this.opts.sessionId), timestamp, ...fields };
    for (const k of Object.keys(event)) if (event[k] === undefined) delete event[k];
    this.sender.push([event]);
    if (this.opts.onEvent) this.guard(() => this.opts.onEvent({ ...event }));
    this.sender.schedule(this.opts.sendDelayMs);
  }

  newSubscriberId() {
    return `${this.connectionId}-sub${++this.subSeq}`;
  }

  /** Instrument one peer connection. Options: name (publisher name), videoType, mapStreamId(msid). */
  watch(pc, options = {}) {
    return this.guard(() => {
      if (this.closed || !pc || this.watchers.some((w) => w.pc === pc)) return;
      const w = new PcWatcher(this, pc, options);
      this.watchers.push(w);
      w.videoType = options.videoType;
      const close = pc.close;
      if (typeof close === 'function') {
        pc.close = function closeAndReport(...args) {
          const result = close.apply(this, args);
          w.collector.guard(() => w.scan());
          return result;
        };
      }
      w.scan();
    });
  }

  /** Instrument every RTCPeerConnection created from now on (until close()). */
  wrap() {
    this.guard(() => {
      const g = globalThis;
      if (this.closed || !g.RTCPeerConnection || this.original) return;
      const collector = this;
      this.original = g.RTCPeerConnection;
      g.RTCPeerConnection = new Proxy(this.original, {
        construct(target, args, newTarget) {
          const pc = Reflect.construct(target, args, newTarget === g.RTCPeerConnection ? target : newTarget);
          collector.watch(pc);
          return pc;
        },
      });
    });
  }

  /** Record a connect/publish/subscribe attempt: attempt("publish", {outcome, errorCode, reason, streamId}). */
  attempt(kind, details = {}) {
    this.guard(() => {
      if (!['connect', 'publish', 'subscribe'].includes(kind)) return this.warn(`unknown attempt kind ${kind}`);
      const { outcome = 'success', errorCode, reason, streamId, subscriberId } = details;
      const fields = { connectionId: this.connectionId, outcome, errorCode, reason, ...this.endpoint };
      if (kind !== 'connect') fields.streamId = streamId;
      if (kind === 'subscribe') fields.subscriberId = subscriberId;
      this.emit(`${kind}Attempt`, fields);
    });
  }

  /** Lifecycle from what the watched pcs publish and receive now. */
  reconcile() {
    const live = new Map();
    for (const w of this.watchers) {
      if (w.closed) continue;
      for (const s of w.published) if (!live.has(s.streamId)) live.set(s.streamId, { stream: s, owner: w });
    }
    for (const [id, entry] of live) {
      if (!this.streams.has(id)) {
        const { stream, owner } = entry;
        const hasVideo = stream.kinds.includes('video');
        this.emit('streamCreated', {
          streamId: id, connectionId: this.connectionId, hasAudio: stream.kinds.includes('audio'), hasVideo,
          videoType: hasVideo ? owner.videoType || 'camera' : undefined, name: owner.name,
        });
      }
      this.streams.set(id, entry);
    }
    for (const id of [...this.streams.keys()]) {
      if (!live.has(id)) {
        this.streams.delete(id);
        this.emit('streamDestroyed', { streamId: id, reason: 'clientDisconnected' });
      }
    }
    for (const w of this.watchers) {
      for (const sub of w.received.values()) {
        if (sub.announced) continue;
        sub.announced = true;
        this.emit('subscriberCreated', { subscriberId: sub.subscriberId, streamId: sub.streamId, connectionId: this.connectionId });
      }
      if (this.opts.autoAttempts && !w.closed && w.pc.connectionState === 'connected') this.succeeded(w);
    }
  }

  /** First time a pc connects: a successful publish/subscribe attempt for what it carries. */
  succeeded(w) {
    for (const s of w.published) {
      if (this.attempted.has(`p:${s.streamId}`)) continue;
      this.attempted.add(`p:${s.streamId}`);
      this.attempt('publish', { outcome: 'success', streamId: s.streamId });
    }
    for (const sub of w.received.values()) {
      if (this.attempted.has(`s:${sub.subscriberId}`)) continue;
      this.attempted.add(`s:${sub.subscriberId}`);
      this.attempt('subscribe', { outcome: 'success', streamId: sub.streamId, subscriberId: sub.subscriberId });
    }
  }

  subscriberGone(sub) {
    if (sub.announced) this.emit('subscriberDestroyed', { subscriberId: sub.subscriberId, reason: 'clientDisconnected' });
  }

  /** Take one stats snapshot of every watched pc now (the timer calls this every intervalMs). */
  async sample() {
    if (this.closed || this.sender.stopped) return;
    try {
      for (const w of this.watchers) w.scan();
      const live = this.watchers.filter((w) => !w.closed);
      const results = await Promise.all(live.map((w) => {
        const owned = new Set([...this.streams].filter(([, e]) => e.owner === w).map(([id]) => id));
        return w.sample(owned).catch(() => []);
      }));
      const now = Date.now();
      for (const events of results) for (const { type, ...fields } of events) this.emit(type, fields, now);
    } catch (err) {
      this.warn(`stats snapshot failed: ${err?.message || err}`);
    }
  }

  /** Send what is queued now; resolves when sent or when a retry is planned. Never rejects. */
  flush() {
    return this.sender.flush().catch(() => {});
  }

  stopTimers() {
    clearInterval(this.timer);
    globalThis.removeEventListener?.('pagehide', this.onHide);
    globalThis.removeEventListener?.('beforeunload', this.onLeaving);
    globalThis.document?.removeEventListener?.('visibilitychange', this.onVisibility);
    if (this.original) globalThis.RTCPeerConnection = this.original;
    this.original = null;
  }

  /** The end: every stream and subscriber and the connection destroyed (without awaiting anything). */
  finish() {
    this.announce();
    const last = this.watchers.slice();
    for (const w of last) w.detach();
    this.emit('connectionDestroyed', { connectionId: this.connectionId, reason: 'clientDisconnected' });
    this.closed = true;
    this.stopTimers();
  }

  /** A final snapshot, the destroyed events, all flushed. Safe to call twice; never rejects. */
  close() {
    if (this.closing) return this.closing;
    if (this.closed) return Promise.resolve();
    this.closing = (async () => {
      await this.sample();
      this.guard(() => this.finish());
      await this.sender.flush();
    })().catch(() => {});
    return this.closing;
  }

  pageHidden() {
    if (this.closed) return;
    this.finish();
    this.sender.beacon();
  }
}

/** A collector for one client connection of a session; see docs/collector.md. */
export function createCollector(options = {}) {
  return new Collector(options);
}

export { toPlain };
