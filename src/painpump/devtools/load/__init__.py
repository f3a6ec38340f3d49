"""The load test (`painpump bench-load`, scripts/bench-load, docs/benchmarks.md): `run` drives it,
`users` are its locust clients, `plan` the pure profiles and their order, `proc` the process
figures (CPU, memory) read from /proc."""
