-- Trent's AWS door with SigV4. A signature embeds its time and is accepted for
-- five minutes, so the harness signs a pool of requests in Python right before
-- every run (BENCH_POOL_FILE) and this script cycles through it; each thread
-- starts at a different place in the pool.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local pool = common.read_pool(common.env("BENCH_POOL_FILE"))
local index = 0
local threads = 0

function setup(thread)
  thread:set("offset", threads * 97)
  threads = threads + 1
end

function init(args)
  index = (offset or 0) % #pool
end

function request()
  index = index % #pool + 1
  return pool[index]
end

done = common.done
