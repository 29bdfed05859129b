-- GET the paths listed in $BENCH_PATHS (one a line) in turn; each thread starts at its own place.
-- With $BENCH_RATE_PER_THREAD, at that steady rate (pace.lua).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
dofile(os.getenv("BENCH_LUA_DIR") .. "/pace.lua")

local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  if line ~= "" then paths[#paths + 1] = line end
end
local position = 1

function init(args)
  position = (id * 37) % #paths + 1
end

function request()
  local path = paths[position]
  position = position % #paths + 1
  return wrk.format("GET", path)
end
