-- POST a purchase to one of the accounts listed in $BENCH_ACCOUNTS (one id a line, picked at random),
-- each with an Idempotency-Key of its own; with $BENCH_RATE_PER_THREAD, at that steady rate (pace.lua).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
dofile(os.getenv("BENCH_LUA_DIR") .. "/pace.lua")

local accounts = {}
for line in io.lines(os.getenv("BENCH_ACCOUNTS")) do
  if line ~= "" then accounts[#accounts + 1] = line end
end
local run = os.getenv("BENCH_RUN")
local body = string.format(
  '{"type": "purchase", "amount": "%s", "description": "bench purchase", "external_reference": "%s"}',
  os.getenv("BENCH_AMOUNT"), os.getenv("BENCH_REFERENCE"))
local sent = 0

function init(args)
  math.randomseed(os.time() + id * 7919)
end

function request()
  sent = sent + 1
  local account = accounts[math.random(#accounts)]
  local headers = with_headers({
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("%s-%d-%d", run, id, sent),
  })
  return wrk.format("POST", "/api/v1/accounts/" .. account .. "/transactions", headers, body)
end
