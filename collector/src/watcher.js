// One instrumented RTCPeerConnection: which streams it publishes and receives (from its session
// descriptions), its getStats() snapshots, and failed ICE/DTLS as failed attempts.

import { negotiated } from './sdp.js';
import { statsEvents, toPlain } from './stats.js';

// Error codes of failed attempts seen on a peer connection (docs/collector.md).
export const ERROR_CODES = { publishIce: 1553, subscribeIce: 1554, connectIce: 1006, dtls: 1555 };

export class PcWatcher {
  constructor(collector, pc, opts) {
    this.collector = collector;
    this.pc = pc;
    this.name = opts.name;
    this.mapStreamId = opts.mapStreamId || collector.opts.mapStreamId;
    this.published = [];   // [{streamId, mids, trackIds, kinds}] this pc sends
    this.received = new Map(); // remote stream id -> {subscriberId, streamId, mids, trackIds, kinds}
    this.prev = null;
    this.failed = false;
    this.closed = false;
    this.onChange = () => this.collector.guard(() => this.scan());
    this.onState = () => this.collector.guard(() => this.state());
    for (const ev of ['signalingstatechange', 'track', 'negotiationneeded']) pc.addEventListener(ev, this.onChange);
    pc.addEventListener('connectionstatechange', this.onState);
    pc.addEventListener('iceconnectionstatechange', this.onState);
  }

  /** Re-read what the pc sends and receives; the collector turns differences into lifecycle events. */
  scan() {
    if (this.closed) return;
    if (this.pc.signalingState === 'closed') {
      this.detach();
      return;
    }
    const local = this.pc.localDescription?.sdp;
    const remote = this.pc.remoteDescription?.sdp;
    if (!local || !remote) return; // until negotiated, nothing flows
    if (local === this.sdp?.local && remote === this.sdp?.remote) return; // nothing renegotiated
    this.sdp = { local, remote };
    const flows = negotiated(local, remote);
    this.published = flows.published.map((st) => ({ ...st, streamId: this.streamIdOf(st, 'publish') }));
    if (!this.prev && !this.baselining) {
      // The first report is the baseline the first snapshot's rates are measured from.
      this.baselining = true;
      this.pc.getStats().then((r) => { this.prev ??= toPlain(r); }, () => {});
    }
    const seen = new Set();
    for (const s of flows.received) {
      const streamId = this.streamIdOf(s, 'subscribe');
      seen.add(s.streamId);
      const known = this.received.get(s.streamId);
      if (known) Object.assign(known, { mids: s.mids, trackIds: s.trackIds, kinds: s.kinds });
      else this.received.set(s.streamId, { ...s, streamId, subscriberId: this.collector.newSubscriberId() });
    }
    for (const [remoteId, sub] of this.received) {
      if (!seen.has(remoteId)) {
        this.received.delete(remoteId);
        this.collector.subscriberGone(sub);
      }
    }
    this.collector.reconcile();
  }

  /** The stream id to report for a MediaStream id seen in the SDP (the app may map it, e.g. for SFUs). */
  streamIdOf(stream, direction) {
    if (!this.mapStreamId) return stream.streamId;
    try {
      return String(this.mapStreamId(stream.streamId, { pc: this.pc, trackIds: stream.trackIds, kinds: stream.kinds, direction })
        || stream.streamId);
    } catch {
      return stream.streamId;
    }
  }

  /** ICE or DTLS failure: a failed publish/subscribe/connect attempt for what the pc carries. */
  state() {
    const failed = this.pc.connectionState === 'failed' || this.pc.iceConnectionState === 'failed';
    if (!failed) {
      this.failed = false;
      this.scan();
      return this.collector.reconcile(); // a pc that connects: its attempts succeeded
    }
    if (this.failed) return;
    this.failed = true;
    const dtls = this.pc.getSenders?.().concat(this.pc.getReceivers?.() || [])
      .some((x) => x.transport?.state === 'failed');
    const reason = dtls ? 'dtls-failed' : 'ice-failed';
    const subs = [...this.received.values()];
    if (this.published.length) {
      for (const s of this.published) {
        this.collector.attempt('publish', { outcome: 'failure', errorCode: dtls ? ERROR_CODES.dtls : ERROR_CODES.publishIce, reason, streamId: s.streamId });
      }
    }
    for (const s of subs) {
      this.collector.attempt('subscribe', {
        outcome: 'failure', errorCode: dtls ? ERROR_CODES.dtls : ERROR_CODES.subscribeIce, reason, streamId: s.streamId, subscriberId: s.subscriberId,
      });
    }
    if (!this.published.length && !subs.length) {
      this.collector.attempt('connect', { outcome: 'failure', errorCode: dtls ? ERROR_CODES.dtls : ERROR_CODES.connectIce, reason });
    }
  }

  /** getStats() now -> events for the streams this pc reports (`owned`) and its subscribers. */
  async sample(owned) {
    if (this.closed || this.pc.signalingState === 'closed') return [];
    const curr = toPlain(await this.pc.getStats());
    const prev = this.prev;
    this.prev = curr;
    if (!prev) return [];
    return statsEvents(prev, curr, this.published.filter((s) => owned.has(s.streamId)), [...this.received.values()]);
  }

  /** The pc is closed or the collector stops: its streams and subscribers end. */
  detach() {
    if (this.closed) return;
    this.closed = true;
    for (const ev of ['signalingstatechange', 'track', 'negotiationneeded']) this.pc.removeEventListener(ev, this.onChange);
    this.pc.removeEventListener('connectionstatechange', this.onState);
    this.pc.removeEventListener('iceconnectionstatechange', this.onState);
    this.published = [];
    for (const sub of this.received.values()) this.collector.subscriberGone(sub);
    this.received.clear();
    this.collector.reconcile();
  }
}
