"""The dashboard: server-rendered pages at /ui for people, beside the API for programs."""
