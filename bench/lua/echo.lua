-- The framework floor (bench/echo_app.py): the same JSON body as Trent's Encrypt
-- 1 KB request (BENCH_BODY_FILE), parsed and sent back.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

wrk.method = "POST"
wrk.body = common.read_file(common.env("BENCH_BODY_FILE"))
wrk.headers["Content-Type"] = "application/json"

done = common.done
