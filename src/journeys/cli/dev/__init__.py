"""The embedded stack of `journeys dev`: everything on one machine, in the foreground."""
