// Collector demo: a loopback call in this browser (camera + microphone when allowed, else a synthetic
// canvas + oscillator stream), two clients (publisher, subscriber) each instrumented by the
// collector served at /collector.js, with a short-lived credential the server mints for this page.
import '../common/shell.js';
import { boot } from '../common/boot.js';
import { card, fill, h } from '../common/dom.js';
import { inspectorUrl } from '../common/sessions.js';

const INTERVAL_MS = 5000; // faster than the spec's 30 s so the inspector fills while you watch
const root = document.getElementById('app');
const params = new URLSearchParams(location.search);
let call = null;

async function credential(sessionId) {
  const q = new URLSearchParams({ project: boot.project.id, ...(sessionId ? { session: sessionId } : {}) });
  const response = await fetch(`${boot.credentialUrl}?${q}`, { method: 'POST', headers: { 'X-CSRF-Token': boot.csrf } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error?.message || `HTTP ${response.status}`);
  return body;
}

/** A moving test pattern and a quiet tone, for browsers without a camera or permission. */
function syntheticStream() {
  const canvas = h('canvas', { width: 640, height: 360 });
  const ctx = canvas.getContext('2d');
  const started = performance.now();
  const draw = () => {
    const t = (performance.now() - started) / 1000;
    ctx.fillStyle = '#16213e';
    ctx.fillRect(0, 0, 640, 360);
    ctx.fillStyle = '#e94560';
    ctx.beginPath();
    ctx.arc(320 + 220 * Math.sin(t), 180 + 100 * Math.cos(t * 1.3), 40, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = '#fff';
    ctx.font = '28px sans-serif';
    ctx.fillText(`videoinsights ${t.toFixed(1)} s`, 24, 48);
  };
  const timer = setInterval(draw, 1000 / 15);
  draw();
  const audio = new AudioContext();
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  gain.gain.value = 0.05;
  const dest = audio.createMediaStreamDestination();
  osc.connect(gain).connect(dest);
  osc.start();
  const stream = new MediaStream([...canvas.captureStream(15).getVideoTracks(), ...dest.stream.getAudioTracks()]);
  return { stream, stop: () => { clearInterval(timer); osc.stop(); audio.close(); } };
}

async function media() {
  if (!params.has('synthetic')) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
      return { stream, stop: () => {}, source: 'camera and microphone' };
    } catch {
      // no device or no permission: the synthetic stream shows the same thing
    }
  }
  return { ...syntheticStream(), source: 'synthetic canvas and oscillator' };
}

async function connect(from, to) {
  from.onicecandidate = (e) => e.candidate && to.addIceCandidate(e.candidate);
  to.onicecandidate = (e) => e.candidate && from.addIceCandidate(e.candidate);
  await from.setLocalDescription(await from.createOffer());
  await to.setRemoteDescription(from.localDescription);
  await to.setLocalDescription(await to.createAnswer());
  await from.setRemoteDescription(to.localDescription);
}

const status = card('Call', { id: 'demo-call', wide: true, note: 'A publisher and a subscriber in this tab, connected to each other; each is a client connection of the session.' });
const live = card('Events sent', { id: 'demo-events', wide: true });
const startButton = h('button', { type: 'button', class: 'primary', id: 'demo-start', onclick: () => (call ? stop() : start()) }, 'Start call');
const localVideo = h('video', { autoplay: true, muted: true, playsinline: true, class: 'demo-video' });
const remoteVideo = h('video', { autoplay: true, muted: true, playsinline: true, class: 'demo-video', id: 'demo-remote' });
fill(status.body, h('p', {}, 'Press start: nothing is sent before.'));
fill(live.body, h('p', { class: 'muted' }, 'The collector’s events appear here as they are queued.'));
root.replaceChildren(h('div', { class: 'dash-head' }, h('h1', {}, 'Collector demo'), startButton),
  h('p', {}, 'The browser collector (', h('code', {}, '/collector.js'), ') instruments this call and sends its connections, stream, subscriber and stats to the project ',
    h('strong', {}, boot.project.name), '. See docs/collector.md to add it to your app.'),
  h('div', { class: 'demo-videos' }, localVideo, remoteVideo), status.el, live.el);
root.dataset.state = 'ready';

function counter() {
  const counts = {};
  const latest = {};
  const table = h('table', { class: 'table', id: 'demo-counts' });
  const render = () => fill(table, h('tr', {}, h('th', {}, 'event'), h('th', {}, 'count'), h('th', {}, 'latest')),
    Object.keys(counts).sort().map((type) => h('tr', { dataset: { type } }, h('td', {}, type), h('td', {}, counts[type]),
      h('td', { class: 'muted' }, latest[type] || ''))));
  return {
    table,
    onEvent(e) {
      counts[e.type] = (counts[e.type] || 0) + 1;
      if (e.type.endsWith('Stats')) {
        latest[e.type] = [e.videoBitrateKbps !== undefined && `${e.videoBitrateKbps} kbps video`, e.videoResolution, e.frameRate !== undefined && `${e.frameRate} fps`,
          e.roundTripMs !== undefined && `RTT ${e.roundTripMs} ms`].filter(Boolean).join(' · ');
      }
      render();
    },
  };
}

async function start() {
  startButton.disabled = true;
  try {
    const cred = await credential();
    let token = cred.token;
    let expires = Date.now() + cred.expiresIn * 1000;
    const freshToken = async () => {
      if (Date.now() > expires - 60000) {
        const next = await credential(cred.sessionId);
        token = next.token;
        expires = Date.now() + next.expiresIn * 1000;
      }
      return token;
    };
    const m = await media();
    const pub = new RTCPeerConnection();
    const sub = new RTCPeerConnection();
    const counts = counter();
    const make = (guid) => VideoInsights.createCollector({
      url: location.origin, token: freshToken, sessionId: cred.sessionId, intervalMs: INTERVAL_MS,
      endpoint: { appVersion: 'collector-demo', guid }, onEvent: counts.onEvent,
    });
    const collectors = [make('demo-publisher'), make('demo-subscriber')];
    collectors[0].watch(pub, { name: 'demo camera' });
    collectors[1].watch(sub);
    for (const track of m.stream.getTracks()) pub.addTrack(track, m.stream);
    sub.ontrack = (e) => { remoteVideo.srcObject = e.streams[0]; };
    localVideo.srcObject = m.stream;
    await connect(pub, sub);
    call = { pub, sub, collectors, media: m, sessionId: cred.sessionId };
    fill(status.body, h('dl', { class: 'facts' },
      h('dt', {}, 'Session'), h('dd', {}, h('a', { href: inspectorUrl(cred.sessionId), id: 'demo-inspector', target: '_blank', rel: 'noopener' }, cred.sessionId)),
      h('dt', {}, 'Media'), h('dd', { id: 'demo-source' }, m.source),
      h('dt', {}, 'Snapshots'), h('dd', {}, `every ${INTERVAL_MS / 1000} s`)),
    h('p', { class: 'note' }, 'Open the session in the inspector: it appears within seconds and fills while the call runs.'));
    fill(live.body, counts.table);
    startButton.textContent = 'Stop call';
    root.dataset.call = 'running';
  } catch (err) {
    fill(status.body, h('div', { class: 'state error', role: 'alert' }, `Could not start the call: ${err.message || err}`));
  } finally {
    startButton.disabled = false;
  }
}

async function stop() {
  const c = call;
  call = null;
  startButton.disabled = true;
  await Promise.all(c.collectors.map((x) => x.close()));
  c.pub.close();
  c.sub.close();
  for (const t of c.media.stream.getTracks()) t.stop();
  c.media.stop();
  startButton.textContent = 'Start call';
  startButton.disabled = false;
  root.dataset.call = 'stopped';
}
