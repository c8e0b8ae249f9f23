"""Benchmarks of Journeys against raw temporalio calls on the same Temporal server.

`python -m bench` (or `make bench`) starts the embedded stack as real processes in a fresh
data dir, drives HTTP load with wrk, prints each figure with the machine it ran on, and
writes bench/results/latest.json and latest.md. Benchmarks print; they never assert.
"""
