// Test page of tests/collector: one publisher sending its camera + microphone (Chromium's fake
// devices) to two subscribers over loopback peer connections, three collectors (one per client).
// Query: server, key | token, session, interval, backoff, nocollector (fixture recording).
/* global VideoInsights */
const q = new URLSearchParams(location.search);
const server = q.get('server');
window.generated = [];     // every event the collectors queued: {id, type, t, ...}
window.pageErrors = [];    // uncaught errors and unhandled rejections the page saw
window.collectors = {};
window.pcs = {};
window.unloading = false;
addEventListener('error', (e) => window.pageErrors.push(`error: ${e.message}`));
addEventListener('unhandledrejection', (e) => window.pageErrors.push(`rejection: ${e.reason}`));
addEventListener('beforeunload', () => { window.unloading = true; });

function loadCollector() {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = `${server}/collector.js`;
    s.onload = resolve;
    s.onerror = () => reject(new Error('collector.js did not load'));
    document.head.append(s);
  });
}

async function connect(from, to) {
  from.onicecandidate = (e) => e.candidate && to.addIceCandidate(e.candidate);
  to.onicecandidate = (e) => e.candidate && from.addIceCandidate(e.candidate);
  await from.setLocalDescription(await from.createOffer());
  await to.setRemoteDescription(from.localDescription);
  await to.setLocalDescription(await to.createAnswer());
  await from.setRemoteDescription(to.localDescription);
}

function collector(name) {
  const options = {
    url: server, sessionId: q.get('session'), intervalMs: Number(q.get('interval') || 1000),
    maxBackoffMs: Number(q.get('backoff') || 2000), baseBackoffMs: 500,
    endpoint: { appVersion: 'loopback-test', guid: name },
    onEvent: (e) => window.generated.push({ ...e, client: name, late: window.unloading }),
  };
  if (q.get('key')) options.key = q.get('key');
  else options.token = async () => q.get('token');
  return VideoInsights.createCollector(options);
}

window.closeAll = () => Promise.all(Object.values(window.collectors).map((c) => c.close()));
window.pending = () => Object.values(window.collectors).reduce((n, c) => n + c.sender.queue.length, 0);
window.allStopped = () => Object.values(window.collectors).every((c) => c.stopped);

window.capBitrate = async (kbps) => {
  for (const pc of [window.pcs.pubA, window.pcs.pubB]) {
    for (const sender of pc.getSenders()) {
      if (sender.track?.kind !== 'video') continue;
      const p = sender.getParameters();
      p.encodings[0].maxBitrate = kbps * 1000;
      if (q.has('pref')) p.degradationPreference = q.get('pref');
      await sender.setParameters(p);
    }
  }
};

async function main() {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  window.localStreamId = stream.id;
  if (q.has('wrap')) {
    // wrap mode: one collector (one client) instruments every peer connection created from now on
    await loadCollector();
    window.collectors.client = collector('client');
    window.collectors.client.wrap();
    addEventListener('pagehide', () => localStorage.setItem('generated', JSON.stringify(window.generated)));
  }
  const pubA = new RTCPeerConnection();
  const pubB = new RTCPeerConnection();
  const sub1 = new RTCPeerConnection();
  const sub2 = new RTCPeerConnection();
  Object.assign(window.pcs, { pubA, pubB, sub1, sub2 });
  window.allInstances = [pubA, pubB, sub1, sub2].every((pc) => pc instanceof RTCPeerConnection);
  if (!q.has('nocollector') && !q.has('wrap')) {
    await loadCollector();
    const c = { publisher: collector('publisher'), subscriber1: collector('subscriber1'), subscriber2: collector('subscriber2') };
    Object.assign(window.collectors, c);
    c.publisher.watch(pubA, { name: 'camera' });
    c.publisher.watch(pubB, { name: 'camera' });
    c.subscriber1.watch(sub1);
    c.subscriber2.watch(sub2);
    // After the collectors' own pagehide handlers (listeners run in order): keep what they generated.
    addEventListener('pagehide', () => localStorage.setItem('generated', JSON.stringify(window.generated)));
  }
  for (const pc of [pubA, pubB]) for (const track of stream.getTracks()) pc.addTrack(track, stream);
  sub1.ontrack = (e) => { document.getElementById('remote1').srcObject = e.streams[0]; };
  sub2.ontrack = (e) => { document.getElementById('remote2').srcObject = e.streams[0]; };
  await connect(pubA, sub1);
  await connect(pubB, sub2);
  document.getElementById('state').textContent = 'connected';
  window.ready = true;
}

main().catch((err) => {
  window.pageErrors.push(`main: ${err}`);
  document.getElementById('state').textContent = `failed: ${err}`;
});
