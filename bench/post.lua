-- wrk script: POST the body in $BENCH_BODY to /invocations.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
