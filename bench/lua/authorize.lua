-- POST a card authorization of $BENCH_AMOUNT at a merchant of category $BENCH_MCC to one of the accounts
-- listed in $BENCH_ACCOUNTS (one id a line, picked at random), each with an Idempotency-Key and a
-- network_reference of its own ($BENCH_RUN-<thread>-<n>).
-- 201s are told apart by the authorization's status (pending: approved; declined) in "outcomes"; the
-- first few other answers are appended to $BENCH_ERRORS with their body.
--
-- With $BENCH_RATE_PER_THREAD, at that steady rate (pace.lua).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
dofile(os.getenv("BENCH_LUA_DIR") .. "/pace.lua")

local accounts = {}
for line in io.lines(os.getenv("BENCH_ACCOUNTS")) do
  if line ~= "" then accounts[#accounts + 1] = line end
end
local run = os.getenv("BENCH_RUN")
local amount = os.getenv("BENCH_AMOUNT")
local mcc = os.getenv("BENCH_MCC")
local errors_file = os.getenv("BENCH_ERRORS")
local sent = 0
local errors_logged = 0
outcomes = {}

function init(args)
  math.randomseed(os.time() + id * 7919)
end

function request()
  sent = sent + 1
  local account = accounts[math.random(#accounts)]
  local reference = string.format("%s-%d-%d", run, id, sent)
  local headers = with_headers({
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = reference,
  })
  local body = string.format(
    '{"amount": "%s", "merchant": {"name": "Bench Shop", "mcc": "%s", "country": "BR"}, "network_reference": "%s"}',
    amount, mcc, reference)
  return wrk.format("POST", "/api/v1/accounts/" .. account .. "/authorizations", headers, body)
end

local function count_outcome(outcome)
  outcomes[outcome] = (outcomes[outcome] or 0) + 1
end

function response(status, headers, body)
  count_status(status)
  if status == 201 and body:find('"status"%s*:%s*"pending"') then
    count_outcome("approved")
  elseif status == 201 and body:find('"status"%s*:%s*"declined"') then
    count_outcome("declined")
  else
    count_outcome("other")
    if errors_file and errors_logged < 3 then
      errors_logged = errors_logged + 1
      local out = io.open(errors_file, "a")
      if out then
        local shown = (body or ""):sub(1, 500):gsub("\n", " ")
        out:write(string.format("%d %s\n", status, shown))
        out:close()
      end
    end
  end
end
