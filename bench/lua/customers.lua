-- Register $BENCH_CUSTOMERS customers (valid, unique CPF and email) as fast as the API accepts them
-- (run with one thread). Once all are sent, a free connection waits IDLE_MS, then sends a refused
-- request (an empty body: 422, nothing created), until the last customer is answered, or until 15 s
-- passed without an answer (one timed out). Then the script writes $BENCH_DONE and the harness stops
-- wrk: wrk itself would keep its connections open until -d ends. (Without the wait, the refused
-- requests of the burst's last moments were 6% of its requests, and their CPU counted as customers'.)
-- With $BENCH_RATE_PER_THREAD, at that steady rate (pace.lua): a steady intake instead of a burst.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
dofile(os.getenv("BENCH_LUA_DIR") .. "/pace.lua")

local total = tonumber(os.getenv("BENCH_CUSTOMERS"))
local cpf_base = tonumber(os.getenv("BENCH_CPF_BASE"))
local domain = os.getenv("BENCH_EMAIL_DOMAIN")
local sent, answered, last_answer = 0, 0, os.time()
local finished = false
local json_headers
local IDLE_MS = 200

-- wrk asks before each request how long to wait: pace.lua's schedule if the intake is paced, and
-- IDLE_MS once every customer is sent.
local paced = delay
function delay()
  if sent >= total then return IDLE_MS end
  return paced and paced() or 0
end

function init(args)
  json_headers = with_headers({["Content-Type"] = "application/json"})
  -- wrk calls request() once on the first thread's script to check it, and never sends that one.
  if id == 0 then sent = -1 end
end

local function check_digit(digits, count)
  local sum = 0
  for i = 1, count do sum = sum + digits[i] * (count + 2 - i) end
  return (sum * 10 % 11) % 10
end

local function cpf(number)
  local text = string.format("%09d", number)
  local digits = {}
  for i = 1, 9 do digits[i] = tonumber(text:sub(i, i)) end
  digits[10] = check_digit(digits, 9)
  digits[11] = check_digit(digits, 10)
  return table.concat(digits)
end

function request()
  if sent >= total then
    return wrk.format("POST", "/api/v1/users", json_headers, "{}")
  end
  sent = sent + 1
  local body = string.format(
    '{"full_name": "Bench Customer %d", "email": "c%d@%s", "tax_id": "%s", ' ..
    '"birth_date": "1985-06-15", "monthly_income": "8000.00"}',
    sent, sent, domain, cpf(cpf_base + sent))
  return wrk.format("POST", "/api/v1/users", json_headers, body)
end

function response(status, headers, body)
  count_status(status)
  if status ~= 422 then
    answered = answered + 1
    last_answer = os.time()
  end
  if not finished and (answered >= total or (sent >= total and os.time() - last_answer > 15)) then
    finished = true
    local marker = assert(io.open(os.getenv("BENCH_DONE"), "w"))
    marker:close()
  end
end
