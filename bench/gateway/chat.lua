-- The shared harness's wrk script (../../../shared/bench/peers/chat.lua), with the
-- Authorization header taken from BENCH_AUTH when set: Bursar needs a real bsk_ key.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(os.getenv("SHARED_BENCH") .. "/chat.lua")
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
