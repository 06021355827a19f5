-- Loaded after a request script by bench/cluster-bench.ts: prints the run's latency distribution
-- as 1,000 quantiles (0.1 % steps, microseconds), so that the runner can pool the distributions
-- of several wrk processes, one per node, into one p50 and p99.
done = function(summary, latency, requests)
  for i = 1, 1000 do
    io.write(string.format("quantile %d\n", latency:percentile(i / 10)))
  end
end
