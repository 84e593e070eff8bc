"""Benchmarks of the function, not tests (nothing here is in the Lambda image): speed, memory,
size, and time and cost at each Lambda memory size (`python -m bench`, in `make bench`); peak
memory of the largest photos (`python -m bench.decode_memory`); a bounded load test of the
local server (`python -m bench.load`, `make load`)."""
