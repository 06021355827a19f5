-- GET a random one of 10,000 keys (preloaded by the runner).
local keys = 10000
request = function()
  return wrk.format("GET", "/v1/kv/bench-" .. math.random(1, keys))
end
