-- benches/wrk.lua - wrk script for benches/run.
-- Through a proxy: BENCH_URL is the absolute URI to ask for (wrk itself
-- connects to the proxy named on its command line), BENCH_HOST its Host.
-- Always: done() prints one "BENCH key=value ..." line that benches/run
-- parses (latency in microseconds).
local url = os.getenv("BENCH_URL")
if url ~= nil and url ~= "" then
   wrk.path = url
   wrk.headers["Host"] = os.getenv("BENCH_HOST")
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d bytes=%d duration_us=%d connect_err=%d " ..
      "read_err=%d write_err=%d timeout=%d non2xx=%d " ..
      "p50_us=%d p99_us=%d mean_us=%.1f max_us=%d\n",
      summary.requests, summary.bytes, summary.duration, e.connect,
      e.read, e.write, e.timeout, e.status,
      latency:percentile(50), latency:percentile(99), latency.mean,
      latency.max))
end
