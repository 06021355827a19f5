-- PUT a 100-byte value to a random one of 10,000 keys.
local keys = 10000
local body = string.rep("v", 100)
local headers = { ["Content-Type"] = "application/octet-stream" }
request = function()
  return wrk.format("PUT", "/v1/kv/bench-" .. math.random(1, keys), headers, body)
end
