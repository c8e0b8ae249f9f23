"""Workflows: deterministic code the sandbox replays. They call activities by name
(`worker.contracts`) and import nothing that does I/O."""
