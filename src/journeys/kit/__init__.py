"""Small helpers every layer may use, importing nothing else of Journeys: problems found in
input, JSON read from untrusted text, HMAC signatures."""
