-- wrk script for benchmarks/bench_api.py: POST /graphql with a small projectData query.
-- VI_MODE: "identical" (one body: response-cache hits), "vars" (`end` varies per request as a variable),
-- "inline" (`end` varies per request inside the query text). `end` moves back 1 ms per request.
local token = os.getenv("VI_TOKEN")
local mode = os.getenv("VI_MODE")
local project = os.getenv("VI_PROJECT")
local start_ms = os.getenv("VI_START")
local end_ms = tonumber(os.getenv("VI_END"))
local selection = "{ resources { usage { streamedPublishedMinutes streamedSubscribedMinutes } } }"
local headers = {["Content-Type"] = "application/json", ["X-OPENTOK-AUTH"] = token}
local counter = 0

local function inline_body(end_value)
  return string.format('{"query": "{ project(projectId: %s) { projectData(start: %s, end: %d) %s } }"}',
    project, start_ms, end_value, selection)
end

local identical = wrk.format("POST", nil, headers, inline_body(end_ms))

function request()
  if mode == "identical" then
    return identical
  end
  counter = counter + 1
  local end_value = end_ms - counter
  if mode == "vars" then
    local body = string.format(
      '{"query": "query ($end: Date) { project(projectId: %s) { projectData(start: %s, end: $end) %s } }", ' ..
      '"variables": {"end": %d}}', project, start_ms, selection, end_value)
    return wrk.format("POST", nil, headers, body)
  end
  return wrk.format("POST", nil, headers, inline_body(end_value))
end
