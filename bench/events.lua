-- wrk script: POST trigger events, each with its own event id, as a producer would.
--
-- Set through the environment (bench/load.py does it):
--   BENCH_PATH        where to post, e.g. /v1/triggers/bench.start/events
--   BENCH_TOKEN       the API key
--   BENCH_RUN         a tag that makes this run's event ids unique on the stack
--   BENCH_PREFIX      contact ids start with it
--   BENCH_POOL        0: every request is about a new contact (a new run for a start
--                     trigger); N: contacts cycle through PREFIX0 .. PREFIX(N-1)
--   BENCH_THREADS     wrk's -t, so that threads share the pool without overlap
--   BENCH_ATTRIBUTES  the event's attributes, a JSON object
-- At the end one line `BENCH-RESULT {json}` carries the figures bench/load.py reads.

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  path = os.getenv("BENCH_PATH")
  run = os.getenv("BENCH_RUN")
  prefix = os.getenv("BENCH_PREFIX")
  pool = tonumber(os.getenv("BENCH_POOL") or "0")
  thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
  attributes = os.getenv("BENCH_ATTRIBUTES") or "{}"
  headers = {
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
    ["Content-Type"] = "application/json",
  }
  -- wrk asks thread 0's script for one request before the run, to check it, and never
  -- sends it (script_verify_request in wrk.c): from -1 there, the first event sent is 0.
  sent = thread_index == 0 and -1 or 0
  failures = 0
  first_failure = ""
end

function request()
  local contact
  if pool > 0 then
    contact = prefix .. ((sent * thread_count + thread_index) % pool)
  else
    contact = prefix .. thread_index .. "-" .. sent
  end
  local body = string.format(
    '{"contact_id":"%s","event_id":"%s-%d-%d","attributes":%s}',
    contact, run, thread_index, sent, attributes
  )
  sent = sent + 1
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status ~= 202 then
    failures = failures + 1
    if first_failure == "" then
      first_failure = status .. " " .. body
    end
  end
end

function done(summary, latency, requests)
  local refused, example = 0, ""
  for _, thread in ipairs(threads) do
    refused = refused + thread:get("failures")
    if example == "" then
      example = thread:get("first_failure")
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"requests":%d,"duration_us":%d,"refused":%d,"socket_errors":%d,'
      .. '"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"example_refusal":"%s"}\n',
    summary.requests, summary.duration, refused,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    string.sub(string.gsub(example, '[%c"\\]', " "), 1, 300)
  ))
end
