"""The journey editor at /ui/journeys/{id}/edit."""
