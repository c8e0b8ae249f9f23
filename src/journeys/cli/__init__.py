"""The composition root: the `journeys` command, `apply`, and the embedded dev stack.

The one place that starts the gateway (`api`) and the worker (`worker`); nothing else in
`journeys` imports either of them.
"""
