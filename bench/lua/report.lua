-- Shared by the benchmark's wrk scripts (loaded with dofile): responses counted by status in every
-- thread (and by what a script calls their outcome, in its global "outcomes" table, if it keeps one),
-- and wrk's own figures written as JSON to $BENCH_REPORT when the run is done.

local threads = {}
statuses = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function count_status(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function response(status, headers, body)
  count_status(status)
end

-- wrk.format replaces wrk.headers (the -H options) when given headers: keep both.
function with_headers(extra)
  local merged = {}
  for name, value in pairs(wrk.headers) do merged[name] = value end
  for name, value in pairs(extra) do merged[name] = value end
  return merged
end

local function json_counts(counts)
  local parts = {}
  for key, n in pairs(counts) do
    parts[#parts + 1] = string.format('"%s": %.0f', tostring(key), n)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local counts, outcome_counts = {}, {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      counts[status] = (counts[status] or 0) + n
    end
    for outcome, n in pairs(thread:get("outcomes") or {}) do
      outcome_counts[outcome] = (outcome_counts[outcome] or 0) + n
    end
  end
  local percentiles = {}
  for _, p in ipairs({50, 75, 90, 99, 99.9}) do
    percentiles[tostring(p)] = latency:percentile(p)
  end
  local errors = summary.errors
  local out = assert(io.open(os.getenv("BENCH_REPORT"), "w"))
  out:write(string.format(
    '{"duration_us": %.0f, "requests": %.0f, "bytes": %.0f, "errors": {"connect": %.0f, "read": %.0f, ' ..
    '"write": %.0f, "status": %.0f, "timeout": %.0f}, "latency_us": {"min": %.0f, "max": %.0f, ' ..
    '"mean": %.1f, "stdev": %.1f, "percentiles": %s}, "statuses": %s, "outcomes": %s}\n',
    summary.duration, summary.requests, summary.bytes, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency.min, latency.max, latency.mean, latency.stdev,
    json_counts(percentiles), json_counts(counts), json_counts(outcome_counts)))
  out:close()
end
