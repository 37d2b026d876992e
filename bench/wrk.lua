-- wrk script for bench/run. Environment:
--   BENCH_BODY    file whose contents are the request body (POSTs)
--   BENCH_IDS     file of incident ids, one per line: GET /v1/incidents/{id}
--   BENCH_UNIQUE  "1": a new Idempotency-Key on every request
--   BENCH_TOKEN   bearer token (empty: none, a public read)
-- Prints one line: RESULT requests=… seconds=… p50_ms=… p95_ms=… p99_ms=… errors=… max_ms=…

local body_file = os.getenv("BENCH_BODY")
local ids_file = os.getenv("BENCH_IDS")
local unique = os.getenv("BENCH_UNIQUE") == "1"
local token = os.getenv("BENCH_TOKEN")

local threads = {}
local counter = 0
local ids = nil

function setup(thread)
  thread:set("prefix", tostring(#threads) .. "-" .. tostring(os.time()))
  table.insert(threads, thread)
end

function init(args)
  if body_file then
    local f = assert(io.open(body_file, "rb"))
    wrk.body = f:read("*a")
    f:close()
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
  end
  if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  if ids_file then
    ids = {}
    for line in io.lines(ids_file) do
      table.insert(ids, line)
    end
  end
  math.randomseed(os.time() * 1000 + (tonumber(string.match(prefix or "0", "^(%d+)")) or 0))
end

function request()
  counter = counter + 1
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  if unique then
    headers["Idempotency-Key"] = "bench-" .. prefix .. "-" .. counter
  end
  local path = nil
  if ids then
    path = "/v1/incidents/" .. ids[math.random(#ids)]
  end
  return wrk.format(nil, path, headers, nil)
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
               + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f errors=%d max_ms=%.3f\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, errors, latency.max / 1000))
end
