"""Logs and traces for the gateway, the worker and the CLI."""
