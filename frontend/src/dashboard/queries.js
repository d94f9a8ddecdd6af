// The GraphQL documents of the dashboard: one request per tab, using aliases.
import { ISSUES } from '../common/issues.js';

const VARS = `$p: IntOrString!, $start: Date!, $end: Date, $interval: Interval, $country: [Country], $region: [String],
  $sdkType: [SdkType], $sdkVersion: [String], $browser: [Browser], $browserVersion: [String]`;
const FILTERS = `start: $start, end: $end, country: $country, region: $region, sdkType: $sdkType,
  sdkVersion: $sdkVersion, browser: $browser, browserVersion: $browserVersion, first: 1000`;

const USAGE = `streamedPublishedMinutes streamedSubscribedMinutes hdArchiveComposedMinutes sdArchiveComposedMinutes
  individualArchiveMinutes hdBroadcastComposedMinutes sdBroadcastComposedMinutes hlsMinutes sipUserMinutes
  experienceComposer experienceComposerArchive experienceComposerBroadcast`;
export const TIERS = ['from1To2Publishers', 'from1To4Publishers', 'from1To8Publishers', 'from1To10Publishers',
  'from1To25Publishers', 'from3To6Publishers', 'from3To25Publishers', 'from5To8Publishers', 'from7To8Publishers',
  'from9To10Publishers', 'from11To20Publishers', 'from11To35Publishers', 'from21To35Publishers',
  'from26To35Publishers', 'from36PlusPublishers', 'from36To40Publishers', 'from41PlusPublishers'];
const STREAMED = 'usage { streamedPublishedMinutes streamedSubscribedMinutes }';

export const usageQuery = `query DashboardUsage(${VARS}) {
  project(projectId: $p) {
    series: projectData(${FILTERS}, interval: $interval) { interval resources { intervalStart usage { ${USAGE} } } }
    totals: projectData(${FILTERS}) { resources { usage { ${USAGE} participantMinutes { ${TIERS.join(' ')} } } } }
    byCountry: projectData(${FILTERS}, groupBy: [COUNTRY]) { resources { country ${STREAMED} } }
    bySdk: projectData(${FILTERS}, groupBy: [SDK_TYPE]) { resources { sdkType ${STREAMED} } }
    byBrowser: projectData(${FILTERS}, groupBy: [BROWSER]) { resources { browser ${STREAMED} } }
  }
}`;

export const LATENCY_BUCKETS = ['ms50', 'ms100', 'ms200', 'ms300', 'ms400', 'ms500', 'ms600', 'ms700', 'ms800', 'ms900',
  'ms1000', 'ms1000Plus'];
export const BITRATE_BUCKETS = ['kbps100', 'kbps200', 'kbps300', 'kbps400', 'kbps500', 'kbps600', 'kbps700', 'kbps800',
  'kbps900', 'kbps1000', 'kbps1200', 'kbps1400', 'kbps1600', 'kbps1800', 'kbps2000', 'kbps2250', 'kbps2500',
  'kbps2750', 'kbps3000', 'kbps3000Plus'];
const SIDE = `videoBitrateKbpsAvg latencyMsAvg latencyDistribution { ${LATENCY_BUCKETS.join(' ')} }
  videoBitrateDistribution { ${BITRATE_BUCKETS.join(' ')} }`;
const AVERAGES = 'videoBitrateKbpsAvg latencyMsAvg';

// Extensions (docs/quality.md): sessions per score bucket (session-level: null under endpoint filters) and
// detected issues by type per interval.
export const SCORE_BUCKETS = ['score1_5', 'score2', 'score2_5', 'score3', 'score3_5', 'score4', 'score4_5', 'score5'];

export const qualityQuery = `query DashboardQuality(${VARS}) {
  project(projectId: $p) {
    totals: projectData(${FILTERS}) { resources { quality { publisher { ${SIDE} } subscriber { ${SIDE} }
      scoreDistribution { ${SCORE_BUCKETS.join(' ')} } } } }
    series: projectData(${FILTERS}, interval: $interval) {
      interval resources { intervalStart quality { publisher { ${AVERAGES} } subscriber { ${AVERAGES} }
        issues { ${ISSUES.map(([, field]) => field).join(' ')} } } }
    }
  }
}`;

const ERRORS = `errors { connect { attempts failures failureRate } publish { attempts failures failureRate }
  subscribe { attempts failures failureRate } }`;

export const errorsQuery = `query DashboardErrors(${VARS}) {
  project(projectId: $p) {
    totals: projectData(${FILTERS}) { resources { ${ERRORS} } }
    series: projectData(${FILTERS}, interval: $interval) { interval resources { intervalStart ${ERRORS} } }
    byBrowser: projectData(${FILTERS}, groupBy: [BROWSER]) { resources { browser ${ERRORS} } }
    bySdk: projectData(${FILTERS}, groupBy: [SDK_TYPE]) { resources { sdkType ${ERRORS} } }
    byCountry: projectData(${FILTERS}, groupBy: [COUNTRY]) { resources { country ${ERRORS} } }
  }
}`;

/** The values the filters can take in the chosen date range. */
export const facetsQuery = `query DashboardFacets($p: IntOrString!, $start: Date!, $end: Date) {
  project(projectId: $p) {
    regions: projectData(start: $start, end: $end, groupBy: [REGION], first: 1000) { resources { country region } }
    sdks: projectData(start: $start, end: $end, groupBy: [SDK_VERSION], first: 1000) { resources { sdkType sdkVersion } }
    browsers: projectData(start: $start, end: $end, groupBy: [BROWSER_VERSION], first: 1000) {
      resources { browser browserVersion }
    }
  }
}`;

/** rows of an aliased projectData (empty when absent) */
export const rows = (data, alias) => data?.project?.[alias]?.resources ?? [];
