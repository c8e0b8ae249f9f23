"""Taking trigger events in: the in-memory catalog and routes, de-duplication, dispatch to
runs. The gateway ingests producers' events through it, and the worker the events that
journeys themselves fire (`activate` steps)."""
