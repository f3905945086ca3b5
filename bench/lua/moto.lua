-- moto's KMS server: it accepts any signature, so the request is signed once in
-- Python and sent unchanged. BENCH_TARGET is the X-Amz-Target, BENCH_AMZ_DATE and
-- BENCH_AUTHORIZATION the signature headers, BENCH_BODY_FILE the JSON body.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

wrk.method = "POST"
wrk.body = common.read_file(common.env("BENCH_BODY_FILE"))
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = common.env("BENCH_TARGET")
wrk.headers["X-Amz-Date"] = common.env("BENCH_AMZ_DATE")
wrk.headers["Authorization"] = common.env("BENCH_AUTHORIZATION")

done = common.done
