-- The etcd counterpart of put.lua and get.lua: the same 10,000 keys (bench-1 .. bench-10000) and
-- 100-byte values, through etcd's JSON gateway, where keys and values travel base64-encoded.
--   wrk -s etcd-kv.lua http://127.0.0.71:2379 -- put    (POST /v3/kv/put)
--   wrk -s etcd-kv.lua http://127.0.0.71:2379 -- get    (POST /v3/kv/range, linearizable)
local keys = 10000
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local function char(shift)
      local d = math.floor(n / 2 ^ shift) % 64
      return alphabet:sub(d + 1, d + 1)
    end
    out[#out + 1] = char(18) .. char(12) .. (b and char(6) or "=") .. (c and char(0) or "=")
  end
  return table.concat(out)
end

local path = "/v3/kv/put"
local headers = { ["Content-Type"] = "application/json" }
local bodies = {}

-- Every body is built once per thread, so the request loop only picks one: the generator should
-- cost no more than put.lua's and get.lua's string concatenation.
init = function(args)
  local value = base64(string.rep("v", 100))
  if args[1] == "get" then
    path = "/v3/kv/range"
  elseif args[1] ~= "put" then
    error("etcd-kv.lua: pass put or get after --")
  end
  for k = 1, keys do
    local key = base64("bench-" .. k)
    if path == "/v3/kv/put" then
      bodies[k] = '{"key":"' .. key .. '","value":"' .. value .. '"}'
    else
      bodies[k] = '{"key":"' .. key .. '"}'
    end
  end
end

request = function()
  return wrk.format("POST", path, headers, bodies[math.random(1, keys)])
end
