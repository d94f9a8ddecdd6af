// Types of videoinsights-collector (see docs/collector.md in the videoinsights repository).

/** Endpoint dimensions sent with connectionCreated and attempts; merged over what is detected. */
export interface Endpoint {
  sdkType?: string;
  sdkVersion?: string;
  browser?: string;
  browserVersion?: string;
  os?: string;
  osVersion?: string;
  deviceModel?: string;
  networkType?: string;
  appVersion?: string;
  guid?: string;
  country?: string;
  region?: string;
  city?: string;
  userAgent?: string;
}

/** One event as sent to POST /v1/events. */
export interface InsightsEvent {
  id: string;
  type: string;
  sessionId: string;
  timestamp: number;
  [field: string]: string | number | boolean;
}

export interface CollectorOptions {
  /** The videoinsights server, e.g. "https://insights.example.com". */
  url: string;
  /** The app's session (room) id. */
  sessionId: string;
  /** A publishable client key ("vik_..."), sent as `?key=`. */
  key?: string;
  /** Or a function returning a token (e.g. an ingest token your server mints); called before each request. */
  token?: () => Promise<string> | string;
  /** This client's connection id; generated when absent. */
  connectionId?: string;
  /** Stats snapshot period, ms (default 30000, as the Insights spec). */
  intervalMs?: number;
  endpoint?: Endpoint;
  /** Queue bound: past it the oldest stats snapshots are dropped (lifecycle events never). Default 1000. */
  maxQueue?: number;
  /** Events per request (default 200). */
  batchSize?: number;
  /** First retry delay, ms (default 1000); doubles per failure, with jitter. */
  baseBackoffMs?: number;
  /** Longest retry delay, ms (default 60000). */
  maxBackoffMs?: number;
  /** Wait this long to batch events before sending (default 250 ms). */
  sendDelayMs?: number;
  /** Report successful publish/subscribe attempts when a peer connection connects (default true). */
  autoAttempts?: boolean;
  /** Stream id to report for a MediaStream id (msid) seen in the SDP, published or received (for SFUs that rewrite msids). */
  mapStreamId?: (msid: string, context: {
    pc: RTCPeerConnection; trackIds: string[]; kinds: string[]; direction: 'publish' | 'subscribe';
  }) => string | undefined;
  /** Called with every event queued (debugging, tests). */
  onEvent?: (event: InsightsEvent) => void;
  /** fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
}

export interface WatchOptions {
  /** Publisher name reported with streamCreated. */
  name?: string;
  /** camera (default), screen or custom. */
  videoType?: 'camera' | 'screen' | 'custom';
  mapStreamId?: CollectorOptions['mapStreamId'];
}

export interface AttemptDetails {
  outcome?: 'success' | 'failure';
  errorCode?: number;
  reason?: string;
  streamId?: string;
  subscriberId?: string;
}

export interface Collector {
  readonly connectionId: string;
  /** True once the server refused the credential (401/403): nothing more is sent. */
  readonly stopped: boolean;
  watch(pc: RTCPeerConnection, options?: WatchOptions): void;
  wrap(): void;
  attempt(kind: 'connect' | 'publish' | 'subscribe', details?: AttemptDetails): void;
  /** Take a stats snapshot of every watched peer connection now. */
  sample(): Promise<void>;
  /** Send what is queued now. */
  flush(): Promise<void>;
  /** Final snapshot, destroyed events, flushed. */
  close(): Promise<void>;
}

export const VERSION: string;
export function createCollector(options: CollectorOptions): Collector;
/** An RTCStatsReport as a plain object keyed by stats id. */
export function toPlain(report: RTCStatsReport): Record<string, RTCStats>;
