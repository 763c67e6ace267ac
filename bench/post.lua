-- bench/post.lua: the wrk script of the post scenario (bench/run.sh run_wrk).
-- Every request: POST, as JSON, {"author":"bench","body":"<12 words>"} to the URL
-- given to wrk (/api/v1/chats/{id}/messages); headers given with -H (the token
-- of parley-accounts) are kept. wrk counts only statuses >= 400 as errors, so
-- this counts every answer that is not 201 and prints at the end
-- "not_201: N" and "first_not_201: STATUS" (0 when none).
wrk.method = "POST"
wrk.body = '{"author":"bench","body":"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor"}'
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	not_201 = 0
	first_not_201 = 0
end

function response(status, headers, body)
	if status ~= 201 then
		not_201 = not_201 + 1
		if first_not_201 == 0 then
			first_not_201 = status
		end
	end
end

function done(summary, latency, requests)
	local n, first = 0, 0
	for _, t in ipairs(threads) do
		n = n + t:get("not_201")
		if first == 0 then
			first = t:get("first_not_201")
		end
	end
	io.write(string.format("not_201: %d\nfirst_not_201: %d\n", n, first))
end
