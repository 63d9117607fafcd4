-- wrk script: signed WeChat text messages, each with its own MsgId and sender.
-- The plaintext-mode signature covers token, timestamp and nonce only, so one
-- signed query string serves every request; bodies vary.
-- args: path_with_query  contents ("A|B|C": request n sends the n-th, cycling)  msgid_base  users  [sender prefix]
-- `tid` is a global that setup() sets in each thread's own Lua state (a chunk
-- local here would shadow it, and every thread would send the same MsgIds).
local counter = 0
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

function init(args)
  path = args[1]
  contents = {}
  for c in string.gmatch(args[2], "[^|]+") do table.insert(contents, c) end
  base = tonumber(args[3])
  users = tonumber(args[4] or "5000")
  prefix = args[5] or "o_bench"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/xml"
end

function request()
  counter = counter + 1
  local body = string.format(
    "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[%s_%d_%d]]></FromUserName>" ..
    "<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content>" ..
    "<MsgId>%d</MsgId></xml>", prefix, tid, counter % users, os.time(), contents[(math.floor(counter / users) % #contents) + 1],
    base + tid * 100000000 + counter)
  return wrk.format(nil, path, nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.requests))
end
