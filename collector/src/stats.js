// Pure: two consecutive getStats() reports of one peer connection -> our stats events.
// Nothing here touches the browser, so node's test runner checks it with recorded reports.
// Rates are deltas between the two reports; "now" values (resolution, RTT, jitter) come from the
// newer one. The mapping is documented in docs/collector.md.

/** An RTCStatsReport (a Map) as a plain object keyed by stats id: easy to keep, diff and record. */
export function toPlain(report) {
  const out = {};
  report.forEach((s) => { out[s.id] = s; });
  return out;
}

const round = (x, digits = 1) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const num = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/** Growth of a cumulative counter since the previous report (a stream absent before starts at 0). */
function grew(curr, prev, field) {
  const now = num(curr[field]);
  if (now === undefined) return undefined;
  return Math.max(0, now - (num(prev?.[field]) ?? 0));
}

function sum(list, fn) {
  let total;
  for (const item of list) {
    const v = fn(item);
    if (v !== undefined) total = (total ?? 0) + v;
  }
  return total;
}

/** The time the previous report was taken (ms), the start of the interval. */
export function reportTime(report) {
  let t;
  for (const s of Object.values(report || {})) if (num(s.timestamp) !== undefined) t = Math.max(t ?? 0, s.timestamp);
  return t;
}

/** The selected ICE candidate pair: the transport's pointer, else the nominated succeeded pair. */
function selectedPair(report) {
  const all = Object.values(report);
  for (const t of all) {
    if (t.type === 'transport' && t.selectedCandidatePairId && report[t.selectedCandidatePairId]) {
      return report[t.selectedCandidatePairId];
    }
  }
  return all.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
}

function codecName(report, rtp) {
  const mime = report[rtp.codecId]?.mimeType;
  return mime ? mime.slice(mime.indexOf('/') + 1) : undefined;
}

/** RTT over the interval from cumulative totals, else the latest measurement (seconds -> ms). */
function roundTrip(curr, prev) {
  if (!curr) return undefined;
  const n = grew(curr, prev, 'roundTripTimeMeasurements');
  const total = grew(curr, prev, 'totalRoundTripTime');
  if (n > 0 && total !== undefined) return (total / n) * 1000;
  return num(curr.roundTripTime) !== undefined && curr.roundTripTimeMeasurements !== 0 ? curr.roundTripTime * 1000
    : undefined;
}

/** Does this RTP stream belong to the entity (by transceiver mid, else by track id)? */
function belongs(entity, rtp, report) {
  if (rtp.mid !== undefined && entity.mids) return entity.mids.includes(String(rtp.mid));
  const track = rtp.trackIdentifier ?? report[rtp.mediaSourceId]?.trackIdentifier;
  return Boolean(track && entity.trackIds?.includes(track));
}

/** The video layer with the most pixels (simulcast sends several per stream). */
function biggest(rtps) {
  let best = rtps[0];
  for (const r of rtps) if ((r.frameWidth || 0) * (r.frameHeight || 0) > (best.frameWidth || 0) * (best.frameHeight || 0)) best = r;
  return best;
}

function perKind(out, kind, rtps, ctx, sent) {
  const cap = kind === 'audio' ? 'Audio' : 'Video';
  const { curr, prev, dtFor } = ctx;
  if (!rtps.length) {
    out[`has${cap}`] = false;
    return {};
  }
  const bytes = sum(rtps, (r) => grew(r, prev[r.id], sent ? 'bytesSent' : 'bytesReceived'));
  const dt = dtFor(rtps[0]);
  out[`has${cap}`] = !prev[rtps[0].id] || bytes > 0;
  if (bytes !== undefined && dt > 0) out[`${kind}BitrateKbps`] = round((bytes * 8) / dt);
  const codec = codecName(curr, rtps[0]);
  if (codec) out[`${kind}Codec`] = codec;
  return { bytes, dt };
}

function videoDetails(out, layer, ctx, frameField) {
  const { prev, dtFor } = ctx;
  if (layer.frameWidth && layer.frameHeight) out.videoResolution = `${layer.frameWidth}x${layer.frameHeight}`;
  const frames = grew(layer, prev[layer.id], frameField);
  const dt = dtFor(layer);
  if (prev[layer.id] && frames !== undefined && dt > 0) out.frameRate = round((frames * 1000) / dt);
  else if (num(layer.framesPerSecond) !== undefined) out.frameRate = round(layer.framesPerSecond);
}

function publisherEvent(stream, ctx) {
  const { curr, prev } = ctx;
  const out = { type: 'publisherStats', streamId: stream.streamId };
  const rtts = {};
  const jitters = {};
  for (const kind of ['audio', 'video']) {
    const rtps = Object.values(curr).filter((s) => s.type === 'outbound-rtp' && s.kind === kind && belongs(stream, s, curr));
    perKind(out, kind, rtps, ctx, true);
    if (!rtps.length) continue;
    const remotes = rtps.map((r) => Object.values(curr).find((s) => s.type === 'remote-inbound-rtp' && s.localId === r.id))
      .filter(Boolean);
    const lost = sum(remotes, (r) => grew(r, prev[r.id], 'packetsLost'));
    const packets = sum(rtps, (r) => grew(r, prev[r.id], 'packetsSent'));
    if (lost !== undefined && packets > 0) out[`${kind}PacketLoss`] = round(Math.min(1, lost / packets), 4);
    const rtt = roundTrip(remotes[0], prev[remotes[0]?.id]);
    if (rtt !== undefined) {
      rtts[kind] = rtt;
      out[`${kind}LatencyMs`] = round(rtt / 2);
    }
    if (num(remotes[0]?.jitter) !== undefined) jitters[kind] = remotes[0].jitter * 1000;
    if (kind === 'video') {
      const layer = biggest(rtps);
      videoDetails(out, layer, ctx, 'framesEncoded');
      if (layer.qualityLimitationReason) out.qualityLimitationReason = layer.qualityLimitationReason;
    }
  }
  const pair = selectedPair(curr);
  const rtt = rtts.video ?? rtts.audio ?? (num(pair?.currentRoundTripTime) !== undefined ? pair.currentRoundTripTime * 1000 : undefined);
  if (rtt !== undefined) out.roundTripMs = round(rtt);
  const jitter = jitters.video ?? jitters.audio;
  if (jitter !== undefined) out.jitterMs = round(jitter);
  if (num(pair?.availableOutgoingBitrate) !== undefined) out.availableOutgoingBitrateKbps = round(pair.availableOutgoingBitrate / 1000);
  return out;
}

function subscriberEvent(sub, ctx) {
  const { curr, prev } = ctx;
  const out = { type: 'subscriberStats', subscriberId: sub.subscriberId };
  const jitters = {};
  const buffers = {};
  let remoteRtt;
  for (const kind of ['audio', 'video']) {
    const rtps = Object.values(curr).filter((s) => s.type === 'inbound-rtp' && s.kind === kind && belongs(sub, s, curr));
    perKind(out, kind, rtps, ctx, false);
    if (!rtps.length) continue;
    const r = rtps[0];
    const lost = grew(r, prev[r.id], 'packetsLost');
    const received = grew(r, prev[r.id], 'packetsReceived');
    if (lost !== undefined && received !== undefined && lost + received > 0) {
      out[`${kind}PacketLoss`] = round(lost / (lost + received), 4);
    }
    if (num(r.jitter) !== undefined) jitters[kind] = r.jitter * 1000;
    const delay = grew(r, prev[r.id], 'jitterBufferDelay');
    const emitted = grew(r, prev[r.id], 'jitterBufferEmittedCount');
    if (delay !== undefined && emitted > 0) buffers[kind] = (delay / emitted) * 1000;
    const remote = Object.values(curr).find((s) => s.type === 'remote-outbound-rtp' && s.localId === r.id);
    remoteRtt ??= roundTrip(remote, prev[remote?.id]);
    if (kind === 'video') {
      videoDetails(out, r, ctx, 'framesDecoded');
      const freezes = grew(r, prev[r.id], 'freezeCount');
      if (freezes !== undefined) out.freezeCount = freezes;
    }
  }
  const pair = selectedPair(curr);
  const rtt = remoteRtt ?? (num(pair?.currentRoundTripTime) !== undefined ? pair.currentRoundTripTime * 1000 : undefined);
  if (rtt !== undefined) out.roundTripMs = round(rtt);
  for (const kind of ['audio', 'video']) {
    if (buffers[kind] !== undefined || (rtt !== undefined && out[`has${kind === 'audio' ? 'Audio' : 'Video'}`])) {
      out[`${kind}LatencyMs`] = round((rtt ?? 0) / 2 + (buffers[kind] ?? 0));
    }
  }
  const jitter = jitters.video ?? jitters.audio;
  if (jitter !== undefined) out.jitterMs = round(jitter);
  return out;
}

/**
 * Our stats events for one peer connection, from its previous and current reports (plain objects,
 * see toPlain). `streams`: [{streamId, mids, trackIds}] published on it; `subscribers`:
 * [{subscriberId, mids, trackIds}] received on it. Without a previous report there are no rates.
 * Events carry no id, sessionId or timestamp: the collector adds them.
 */
export function statsEvents(prevReport, currReport, streams = [], subscribers = []) {
  const prev = prevReport || {};
  const start = reportTime(prevReport);
  const dtFor = (rtp) => {
    const before = prev[rtp.id]?.timestamp ?? start;
    return before === undefined ? 0 : rtp.timestamp - before;
  };
  const ctx = { curr: currReport, prev, dtFor };
  return [...streams.map((s) => publisherEvent(s, ctx)), ...subscribers.map((s) => subscriberEvent(s, ctx))];
}
