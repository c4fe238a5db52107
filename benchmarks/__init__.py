"""`make bench`: benchmarks reported as ratios against a baseline measured in the same process.

Each module here defines `run() -> list[Result]`. Timings on a shared 2-core machine are noisy, so
every figure is the median of several repeats, and the ratio to the baseline is what to compare.
"""
