"""The interpreter: what a journey means, as a pure state machine (no I/O, no clock, no
randomness). The workflow drives it durably; the simulator and unit tests drive it directly.
"""
