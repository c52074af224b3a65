-- bench/collect.lua: wrk script for bench/collect.sh. POSTs events to the
-- collect endpoint with a browser User-Agent and counts the responses by
-- status; done() prints one "status <code> <count>" line per status seen.
--
--	EVENTS=1  wrk -s bench/collect.lua http://127.0.0.1:PORT/_katalys/e   # one event (an object)
--	EVENTS=10 wrk -s bench/collect.lua http://127.0.0.1:PORT/_katalys/e   # ten events (an array)

local n = tonumber(os.getenv("EVENTS") or "1")
local one = '{"action":"addtocart","sku":"SKU-1","value":"19.90"}'

wrk.method = "POST"
if n == 1 then
	wrk.body = one
else
	local t = {}
	for i = 1, n do t[i] = one end
	wrk.body = "[" .. table.concat(t, ",") .. "]"
end
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = os.getenv("UA") or
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"

local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	statuses = {}
end

function response(status, headers, body)
	statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
	local total = {}
	for _, t in ipairs(threads) do
		local s = t:get("statuses")
		for code, c in pairs(s) do
			total[code] = (total[code] or 0) + c
		end
	end
	for code, c in pairs(total) do
		io.write(string.format("status %d %d\n", code, c))
	end
end
