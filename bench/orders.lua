-- bench/orders.lua - wrk script for bench/api.sh: POST /v1/orders as one
-- customer, each request with its own Idempotency-Key and host name, so
-- every request is a new order (never a replay).
--
-- Environment: SW_BENCH_TOKEN (the customer's bearer token), SW_BENCH_PLAN,
-- SW_BENCH_TEMPLATE (ids of an active plan and a template of its kind) and
-- SW_BENCH_RUN (a tag unique to this wrk run, so runs never share keys).

local token = assert(os.getenv("SW_BENCH_TOKEN"), "SW_BENCH_TOKEN is not set")
local plan = assert(os.getenv("SW_BENCH_PLAN"), "SW_BENCH_PLAN is not set")
local template = assert(os.getenv("SW_BENCH_TEMPLATE"), "SW_BENCH_TEMPLATE is not set")
local run = os.getenv("SW_BENCH_RUN") or tostring(os.time())

-- setup() runs once per wrk thread in the main Lua state: number the threads
-- so each one's keys have their own prefix.
local nthreads = 0
function setup(thread)
    nthreads = nthreads + 1
    thread:set("thread_no", nthreads)
end

local prefix
local n = 0

function init(args)
    prefix = run .. "-" .. tostring(thread_no or 0) .. "-"
end

function request()
    n = n + 1
    local tag = prefix .. n
    local body = string.format(
        '{"plan_id":"%s","template_id":"%s","hostname":"b%s.bench.example"}',
        plan, template, tag)
    return wrk.format("POST", "/v1/orders", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = "bench-" .. tag,
    }, body)
end
