-- wrk script for benchmarks/bench_ingest.py: POST /v1/events with 1,000 unique publisherStats events per request.
-- Each wrk thread numbers its requests, so every event id is new.
local counter = 0
local thread_id = 0
local token = os.getenv("VI_TOKEN")
local now = tonumber(os.getenv("VI_NOW"))

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function request()
  counter = counter + 1
  local parts = {}
  for i = 1, 1000 do
    parts[i] = string.format(
      '{"id":"t%d-r%d-e%d","type":"publisherStats","sessionId":"wrk-%d-%d","timestamp":%d,' ..
      '"streamId":"st-%d-%d","videoBitrateKbps":%d.5,"audioBitrateKbps":40.0,"videoLatencyMs":%d.0,' ..
      '"audioLatencyMs":60.0,"videoPacketLoss":0.01,"audioPacketLoss":0.0,"videoResolution":"1280x720","hasVideo":true}',
      tid, counter, i, tid, counter % 50, now - i * 1000, tid, i % 20, 300 + i, 80 + i % 300)
  end
  local body = "[" .. table.concat(parts, ",") .. "]"
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json", ["X-OPENTOK-AUTH"] = token}, body)
end

local accepted = 0
function response(status, headers, body)
  if status ~= 200 then
    print("status " .. status .. ": " .. body)
  end
end
