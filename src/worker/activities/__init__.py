"""Activities: the journey's contact with the world, one module per concern (the store,
sends, webhook calls, activations). Each is a method of a class the worker builds once
with its clients; each takes ids, opens its own short transaction, and may run twice
without acting twice."""
