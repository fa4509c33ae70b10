-- wrk script: POSTs JITD_BENCH_BODY with bearer JITD_BENCH_TOKEN.
wrk.method = "POST"
wrk.body = os.getenv("JITD_BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("JITD_BENCH_TOKEN")
