// The GraphiQL explorer (Docs, Query, Variables, Response, History), querying /graphql with the login session.
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import '../common/shell.js';
import { boot } from '../common/boot.js';
import { post } from '../common/api.js';
import { addDays, laToday } from '../common/format.js';

// Monaco's language services run in workers we build and serve ourselves (no CDN).
globalThis.MonacoEnvironment = {
  getWorker(_id, label) {
    const name = label === 'json' ? 'json' : label === 'graphql' ? 'graphql' : 'editor';
    return new Worker(`/static/dist/workers/${name}.worker.js`);
  },
};

const projectId = Number(boot.project.id) || boot.project.id;

const exampleQuery = `# Insights API explorer for project "${boot.project.name}" (${boot.project.id}).
# You are signed in: queries are authenticated for you. Open Docs for the schema.
query ProjectUsage($PROJECT_ID: IntOrString!, $START_TIME: Date!) {
  project(projectId: $PROJECT_ID) {
    projectData(start: $START_TIME, interval: DAILY, groupBy: [SDK_TYPE]) {
      resources {
        intervalStart
        sdkType
        usage {
          streamedPublishedMinutes
          streamedSubscribedMinutes
        }
      }
    }
  }
}
`;
const exampleVariables = JSON.stringify({ PROJECT_ID: projectId, START_TIME: addDays(laToday(), -7) }, null, 2);

const fetcher = async (params) => (await post(params)).json;

// Tabs and history are kept per project, so switching projects does not mix their queries.
const prefix = `vi:${boot.project.id}:`;
const storage = {
  getItem: (key) => localStorage.getItem(prefix + key),
  setItem: (key, value) => localStorage.setItem(prefix + key, value),
  removeItem: (key) => localStorage.removeItem(prefix + key),
  clear: () => Object.keys(localStorage).filter((k) => k.startsWith(prefix)).forEach((k) => localStorage.removeItem(k)),
  key: (i) => Object.keys(localStorage).filter((k) => k.startsWith(prefix))[i]?.slice(prefix.length) ?? null,
  get length() { return Object.keys(localStorage).filter((k) => k.startsWith(prefix)).length; },
};
// GraphiQL takes the first tab's variables only from `initialVariables`, which must not override stored tabs.
const firstVisit = storage.getItem('graphiql:tabState') === null;

function Explorer() {
  return (
    <GraphiQL
      fetcher={fetcher}
      storage={storage}
      defaultTabs={[{ query: exampleQuery, variables: exampleVariables }]}
      initialVariables={firstVisit ? exampleVariables : undefined}
      isHeadersEditorEnabled={false}
      defaultEditorToolsVisibility="variables"
    >
      <GraphiQL.Logo>Insights</GraphiQL.Logo>
    </GraphiQL>
  );
}

const root = document.getElementById('app');
root.classList.add('explorer-root');
createRoot(root).render(<Explorer />);
