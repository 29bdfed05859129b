-- Paces a wrk script at $BENCH_RATE_PER_THREAD requests a second (loaded with dofile by the scripts that
-- can run at a steady rate; without the variable it does nothing and wrk sends as fast as it is answered).
--
-- Each thread paces its connections with delay(): every call takes the thread's next slot of a fixed
-- schedule (one every 1000 / rate ms), so the arrivals keep the rate however long the responses take,
-- as long as a connection is free. A thread that falls behind (no connection free at a slot) does not
-- burst to catch up: the schedule restarts from then and the achieved rate shows the shortfall. wrk
-- measures a request's latency from the moment it is sent, after its delay.
--
-- wrk opens a connection before it asks delay(), so a connection waiting for its slot is open and idle.
-- A paced run keeps as many connections as the API has workers (bench.session.Bench.load_shape), each
-- worker serving one request at a time; the achieved rate shows whether that kept up.
local rate = tonumber(os.getenv("BENCH_RATE_PER_THREAD") or "")
if rate and rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock_id, bench_timespec *tp);
  ]]
  local CLOCK_MONOTONIC = 1
  local now = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, now)
    return tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
  end
  local interval = 1000 / rate
  local next_at = nil

  function delay()
    local at = now_ms()
    if next_at == nil or next_at < at then next_at = at end
    local wait = next_at - at
    next_at = next_at + interval
    return math.floor(wait + 0.5)
  end
end
