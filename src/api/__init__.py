"""The FastAPI gateway: turns trigger events into journey runs, and manages definitions,
contacts and keys. Stateless: any number of processes can serve the same store."""
