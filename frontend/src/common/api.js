// The one way pages reach data: POST /graphql with the login cookie and its CSRF token.
import { boot } from './boot.js';

export class ApiError extends Error {
  constructor(message, { code = null, status = 0 } = {}) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Whether the login cookie still works (a 401 may also be a refusal for a project). */
async function loggedIn() {
  const r = await fetch('/login', { method: 'GET', redirect: 'manual', credentials: 'same-origin' });
  return r.type === 'opaqueredirect';
}

/** The raw GraphQL response (GraphiQL wants it whole). */
export async function post(body) {
  const response = await fetch(boot.graphqlUrl || '/graphql', {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      'x-csrf-token': boot.csrf || '',
      'x-insights-project': boot.project?.id || '',
    },
    body: JSON.stringify(body),
  });
  if (response.status === 401 && boot.csrf && !(await loggedIn())) {
    // The login ended (expired, logged out elsewhere): sign in again and come back here.
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError('Your login ended. Signing in again…', { status: 401 });
  }
  const text = await response.text();
  try {
    return { status: response.status, json: JSON.parse(text) };
  } catch {
    throw new ApiError(`The server answered ${response.status} ${response.statusText}`, { status: response.status });
  }
}

/** `data` of a query; throws ApiError with the first error's message and Insights errorCode. */
export async function query(document, variables = {}) {
  const { status, json } = await post({ query: document, variables });
  if (json.errors?.length) {
    const first = json.errors[0];
    throw new ApiError(first.message, { code: first.errorCode ?? first.extensions?.code ?? null, status });
  }
  if (!json.data) throw new ApiError('The server returned no data.', { status });
  return json.data;
}
