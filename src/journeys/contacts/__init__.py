"""Contacts as the core sees them: who a journey is about, how to reach them, and what they
agreed to. The store maps its rows to these values."""
