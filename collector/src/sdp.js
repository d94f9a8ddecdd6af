// Pure: which MediaStreams a session description sends, by the msid both ends see.
// The publisher's MediaStream id travels in `a=msid:<stream> <track>`; grouping the sending
// m-sections by it gives one stream per published MediaStream (audio + video together, as in Vonage).

/** The m-sections of an SDP: [{mid, kind, direction, port, stream, track}] */
export function mediaSections(sdp) {
  const sections = [];
  let current = null;
  let sessionDirection = 'sendrecv';
  for (const line of String(sdp || '').split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      const [kind, port] = line.slice(2).split(' ');
      current = { mid: undefined, kind, direction: sessionDirection, port: Number(port), stream: undefined, track: undefined };
      sections.push(current);
    } else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) {
      if (current) current.direction = line.slice(2);
      else sessionDirection = line.slice(2);
    } else if (current && line.startsWith('a=mid:')) {
      current.mid = line.slice(6).trim();
    } else if (current && line.startsWith('a=msid:') && current.stream === undefined) {
      const [stream, track] = line.slice(7).trim().split(' ');
      current.stream = stream;
      current.track = track;
    }
  }
  return sections;
}

const SENDS = new Set(['sendrecv', 'sendonly']);
const RECEIVES = new Set(['sendrecv', 'recvonly']);

/**
 * What flows on a negotiated connection, by our local and the remote description:
 * {published, received}, each [{streamId, mids, trackIds, kinds}]. A section counts when one side
 * sends it and the other accepts it (an offer says sendrecv even when the answer is recvonly).
 */
export function negotiated(localSdp, remoteSdp) {
  const accepts = (sdp, dirs) => new Set(mediaSections(sdp).filter((m) => m.port !== 0 && dirs.has(m.direction)).map((m) => m.mid));
  const remoteTakes = accepts(remoteSdp, RECEIVES);
  const localTakes = accepts(localSdp, RECEIVES);
  return {
    published: sentStreams(localSdp).map((s) => keep(s, remoteTakes)).filter(Boolean),
    received: sentStreams(remoteSdp).map((s) => keep(s, localTakes)).filter(Boolean),
  };
}

function keep(stream, mids) {
  const idx = stream.mids.map((m, i) => (mids.has(m) ? i : -1)).filter((i) => i >= 0);
  if (!idx.length) return null;
  return { ...stream, mids: idx.map((i) => stream.mids[i]), trackIds: idx.map((i) => stream.trackIds[i]).filter(Boolean),
    kinds: [...new Set(idx.map((i) => stream.sectionKinds[i]))] };
}

/**
 * The streams a description says its author sends: [{streamId, mids, trackIds, kinds}].
 * For our local description that is what we publish; for the remote one, what we receive.
 * A track sent without a stream (msid "-") is its own stream, named by the track id.
 */
export function sentStreams(sdp) {
  const byId = new Map();
  for (const m of mediaSections(sdp)) {
    if (m.port === 0 || !SENDS.has(m.direction)) continue;
    if (m.kind !== 'audio' && m.kind !== 'video') continue;
    if (!m.stream && !m.track) continue;
    const streamId = m.stream && m.stream !== '-' ? m.stream : m.track;
    let s = byId.get(streamId);
    if (!s) byId.set(streamId, (s = { streamId, mids: [], trackIds: [], kinds: [], sectionKinds: [] }));
    s.mids.push(m.mid);
    s.trackIds.push(m.track);
    s.sectionKinds.push(m.kind);
    if (!s.kinds.includes(m.kind)) s.kinds.push(m.kind);
  }
  return [...byId.values()];
}
