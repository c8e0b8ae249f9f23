"""Journeys: trigger-based customer journeys, made durable by Temporal.

This package is the domain core; `api` and `worker` build on it and it imports
neither of them.
"""
