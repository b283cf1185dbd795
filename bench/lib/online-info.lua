-- wrk: POST the seed's load-balancing route (bench/online-info.ts).
wrk.method = "POST"
