-- Trent's REST door: one static request with a bearer JWT minted for this run.
-- BENCH_TOKEN is the JWT, BENCH_BODY_FILE the JSON body; the URL carries the path.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

wrk.method = "POST"
wrk.body = common.read_file(common.env("BENCH_BODY_FILE"))
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. common.env("BENCH_TOKEN")

done = common.done
