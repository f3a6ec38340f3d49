"""Development tools, not part of the clinic product: the benchmarks (`bench/`: the twin, the
clinic service over HTTP, the web app in Chromium), the load test (`load/`) and the fault drills
(`faults/`). The CLI's `painpump bench*` commands call them; they set up Django and gunicorn
through painpump.runtime and never import the command line package."""
