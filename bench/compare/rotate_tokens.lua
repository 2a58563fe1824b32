-- wrk script for bench/compare: each request carries the next token of BENCH_TOKENS (one per
-- line), so every account of the community reads (or posts) in turn.
-- BENCH_METHOD: GET or POST; BENCH_PATH: the path (with its query); BENCH_ACCEPT_ENCODING,
-- when set, is sent as Accept-Encoding (as real apps send `gzip`).
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH")
local accept_encoding = os.getenv("BENCH_ACCEPT_ENCODING")
local counter = 0
local offset = 0

-- Threads start at different tokens, so two threads do not walk the list in step.
setup = function(thread)
  offset = offset + 1
  thread:set("offset", offset * 7919)
end

init = function(args)
  counter = offset or 0
end

request = function()
  counter = counter + 1
  -- A User-Agent as clients send: GoToSocial answers 418 to a request without one.
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1],
    ["User-Agent"] = "bench-compare/1 (wrk)",
  }
  if accept_encoding and #accept_encoding > 0 then
    headers["Accept-Encoding"] = accept_encoding
  end
  local body = nil
  if method == "POST" then
    headers["Content-Type"] = "application/json"
    body = '{"status":"bench post ' .. counter .. ' #bench","visibility":"public"}'
  end
  return wrk.format(method, path, headers, body)
end
