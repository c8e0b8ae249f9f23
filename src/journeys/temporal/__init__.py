"""What Journeys shares with Temporal: names, the messages that cross it, the client."""
