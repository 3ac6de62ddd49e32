-- wrk script of `make loadtest` (scripts/loadtest/run.sh): one GraphQL workload with a
-- random value per request, every response checked.
--
--   wrk … -s graphql.lua http://host:port -- <W1|W2|W3> <values file> <Authorization value>
--
-- The values file has one value a line: customer ids (W1, W3) or signed cursors (W2).
-- A response counts as an error when its status is not 2xx, when its body has an
-- "errors" member, or when it lacks the data the workload asks for. done() prints one
-- line that run.sh reads:
--   LOADTEST requests=… duration_us=… p50_us=… p99_us=… non2xx=… graphql_errors=…
--            unexpected=… socket_errors=…

local documents = {
  W1 = "query LoadtestCustomer($id: ObjectID!) { customer(id: $id) { id name status websiteUrl logo credit " ..
      "callForwardingCallLimit automaticRefillAmount lowBalanceAlertAmount internationalCalling accountLock " ..
      "callRecording cdrRetention } }",
  W2 = "query LoadtestCustomersPage($cursor: String) { customers(first: 50, after: $cursor) { edges { cursor " ..
      "node { id name status websiteUrl logo credit accountLock internationalCalling callRecording cdrRetention " ..
      "adminUser { id email first last } billingUser { id email first last } " ..
      "supportUser { id email first last } callRecordingUser { id email first last } } } " ..
      "pageInfo { hasNextPage endCursor } } }",
  W3 = "mutation LoadtestPatch($id: ObjectID!, $credit: Int!) { customerPatch(id: $id, " ..
      "patch: {credit: $credit, accountLock: false}) { id credit accountLock version } }",
}

-- What every successful body of the workload contains.
local expected = {
  W1 = '{"data":{"customer":{"id":"',
  W2 = '"edges":[{"cursor":"',
  W3 = '{"data":{"customerPatch":{"id":"',
}

-- Main state: the threads, for done().
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

-- Thread state.
local workload, values, headers, prefix

function init(args)
  workload = args[1]
  if documents[workload] == nil or args[2] == nil or args[3] == nil then
    error("usage: wrk … -s graphql.lua URL -- <W1|W2|W3> <values file> <Authorization value>")
  end
  values = {}
  for line in io.lines(args[2]) do
    if line ~= "" then values[#values + 1] = line end
  end
  if #values == 0 then error("no values in " .. args[2]) end
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = args[3] }
  -- The documents contain no character that JSON would escape.
  prefix = '{"query":"' .. documents[workload] .. '","variables":'
  math.randomseed(os.time() * 1000 + thread_number * 7919)
  non2xx, graphql_errors, unexpected = 0, 0, 0
end

function request()
  local v = values[math.random(#values)]
  local variables
  if workload == "W1" then
    variables = '{"id":"' .. v .. '"}'
  elseif workload == "W2" then
    variables = '{"cursor":"' .. v .. '"}'
  else
    variables = '{"id":"' .. v .. '","credit":' .. math.random(0, 1000000) .. '}'
  end
  return wrk.format("POST", "/query", headers, prefix .. variables .. "}")
end

function response(status, _, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif body:find('"errors"', 1, true) then
    graphql_errors = graphql_errors + 1
  elseif not body:find(expected[workload], 1, true) then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, _)
  local n2, ge, ue = 0, 0, 0
  for _, t in ipairs(threads) do
    n2 = n2 + t:get("non2xx")
    ge = ge + t:get("graphql_errors")
    ue = ue + t:get("unexpected")
  end
  local e = summary.errors
  io.write(string.format(
    "LOADTEST requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d graphql_errors=%d unexpected=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), n2, ge, ue,
    e.connect + e.read + e.write + e.timeout))
end
