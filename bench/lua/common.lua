-- Helpers shared by the door scripts: read the files the harness wrote for this
-- run, and print wrk's figures as one JSON line that bench/wrk.py parses.
local common = {}

function common.env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error(name .. " is not set: run the scripts through `python -m bench`")
  end
  return value
end

function common.read_file(path)
  local file = assert(io.open(path, "rb"))
  local data = file:read("*a")
  file:close()
  return data
end

-- A pool file is a sequence of records "<byte count>\n<raw HTTP request>".
function common.read_pool(path)
  local data = common.read_file(path)
  local pool, position = {}, 1
  while position <= #data do
    local newline = string.find(data, "\n", position, true)
    local size = tonumber(string.sub(data, position, newline - 1))
    pool[#pool + 1] = string.sub(data, newline + 1, newline + size)
    position = newline + size + 1
  end
  assert(#pool > 0, "empty request pool " .. path)
  return pool
end

-- Latencies are in microseconds; "status" counts answers with a status above 399.
function common.done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"connect":%.0f,' ..
    '"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"p50_us":%.0f,"p90_us":%.0f,' ..
    '"p99_us":%.0f,"p999_us":%.0f,"max_us":%.0f,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, errors.connect, errors.read,
    errors.write, errors.status, errors.timeout, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end

return common
