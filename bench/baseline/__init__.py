"""The yardstick of the steady benchmark: the app a team would write by hand on Temporal to
do what the `bench-mail` journey does, without Journeys.

An HTTP endpoint starts a workflow for each event; the workflow sends one email over SMTP
through one activity and completes. One worker process with the SDK's defaults, the
sandbox on. Configured from the environment (`BASELINE_*`), started by bench/steady.py on
the same Temporal server and SMTP sink as the Journeys stack it is compared with.
"""
