// Shared by the sessions list and the inspector.
import { boot } from './boot.js';

export const ADVANCED_NOTE = 'Session data needs the Advanced Insights add-on, which this project does not have.';

export function inspectorUrl(sessionId) {
  return `/sessions/${encodeURIComponent(sessionId)}?project=${encodeURIComponent(boot.project.id)}`;
}
