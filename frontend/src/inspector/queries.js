// GraphQL documents of the session inspector.
import { ISSUE_FIELDS } from '../common/issues.js';

// Each meeting's quality (extension, docs/quality.md): its score and every issue detected in it, which the
// inspector places on the timeline rows and the per-stream charts (two statements for all meetings).
export const sessionQuery = `query InspectSession($p: IntOrString!, $id: String!, $after: String) {
  project(projectId: $p) {
    sessionData {
      sessions(sessionIds: [$id]) {
        resources {
          sessionId mediaMode publisherMinutes subscriberMinutes
          meetings(first: 10, endCursor: $after) {
            totalCount
            pageInfo { hasNextPage endCursor }
            resources {
              meetingId createdAt destroyedAt publisherMinutes subscriberMinutes
              quality { score scoreP10 issues { ${ISSUE_FIELDS} } }
              connections(first: 1000) {
                totalCount maxConcurrent
                resources {
                  connectionId guid createdAt destroyedAt country region city browser browserVersion
                  deviceModel sdkType sdkVersion
                }
              }
              publishers(first: 1000) {
                totalCount
                resources {
                  createdAt destroyedAt connectionId
                  stream { streamId videoType hasAudioTrack hasVideoTrack }
                }
              }
              subscribers(first: 1000) {
                totalCount
                resources { subscriberId connectionId createdAt destroyedAt stream { streamId } }
              }
            }
          }
        }
      }
    }
  }
}`;

const STATS = `totalCount pageInfo { hasNextPage }
  resources { createdAt videoBitrateKbps audioBitrateKbps videoLatencyMs audioLatencyMs videoPacketLoss audioPacketLoss videoResolution
    jitterMs roundTripMs frameRate freezeCount }`;
// Only publishers know these (extensions of the Insights API, docs/api.md).
const PUBLISHER_STATS = STATS.replace('freezeCount }', 'freezeCount qualityLimitationReason availableOutgoingBitrateKbps }');

/** The 30-second stats of every publisher and subscriber of one meeting (picked by its creation time). */
export const statsQuery = `query MeetingStats($p: IntOrString!, $id: String!, $at: Date!) {
  project(projectId: $p) {
    sessionData {
      sessions(sessionIds: [$id]) {
        resources {
          meetings(first: 10, start: $at, end: $at) {
            resources {
              createdAt
              publishers(first: 1000) { resources { stream { streamId } streamStatsCollection(first: 1000) { ${PUBLISHER_STATS} } } }
              subscribers(first: 1000) {
                resources { subscriberId connectionId stream { streamId } streamStatsCollection(first: 1000) { ${STATS} } }
              }
            }
          }
        }
      }
    }
  }
}`;
