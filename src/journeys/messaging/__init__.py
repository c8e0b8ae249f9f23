"""Messages: who may receive them (policy) and what they look like (compose). No I/O."""
