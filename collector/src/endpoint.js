// The endpoint dimensions of connectionCreated and attempts: SDK, browser, OS, device, network.
// parseUserAgent is pure (tested in node); detectEndpoint adds what the browser's APIs tell.

const BROWSERS = [
  ['EDGE', /Edg(?:e|A|iOS)?\/([\d.]+)/],
  ['OPERA', /OPR\/([\d.]+)/],
  ['FIREFOX', /(?:Firefox|FxiOS)\/([\d.]+)/],
  ['CHROME', /(?:Chrome|Chromium|CriOS)\/([\d.]+)/],
  ['SAFARI', /Version\/([\d.]+).*Safari\//],
];

const OSES = [
  ['iOS', /(?:iPhone|iPad|iPod).*? OS ([\d_]+)/],
  ['Android', /Android ([\d.]+)/],
  ['ChromeOS', /CrOS \S+ ([\d.]+)/],
  ['Windows', /Windows NT ([\d.]+)/],
  ['macOS', /Mac OS X ([\d_.]+)/],
  ['Linux', /Linux()/],
];

const majorMinor = (v) => v.replace(/_/g, '.').split('.').slice(0, 2).join('.');

/** Browser, OS and their versions from a User-Agent string (fields absent when unknown). */
export function parseUserAgent(ua) {
  const out = {};
  for (const [name, re] of BROWSERS) {
    const m = re.exec(ua);
    if (m) {
      out.browser = name;
      out.browserVersion = majorMinor(m[1]);
      break;
    }
  }
  for (const [name, re] of OSES) {
    const m = re.exec(ua);
    if (m) {
      out.os = name;
      if (m[1]) out.osVersion = majorMinor(m[1]);
      break;
    }
  }
  return out;
}

const clean = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null && v !== ''));

/** What this browser says about itself; User-Agent Client Hints refine OS version and device model. */
export async function detectEndpoint(version, nav = globalThis.navigator) {
  const ua = nav?.userAgent || '';
  const out = { sdkType: 'JS', sdkVersion: version, userAgent: ua.slice(0, 512), ...parseUserAgent(ua) };
  const type = nav?.connection?.type;
  if (type && type !== 'unknown') out.networkType = type;
  try {
    const hints = nav?.userAgentData && await Promise.race([
      nav.userAgentData.getHighEntropyValues(['platformVersion', 'model']),
      new Promise((resolve) => setTimeout(resolve, 500, null)),
    ]);
    if (hints?.model) out.deviceModel = hints.model;
    if (hints?.platformVersion && out.os !== 'Windows') out.osVersion = majorMinor(hints.platformVersion);
  } catch {
    // Client Hints are optional: the User-Agent string is enough.
  }
  return clean(out);
}
