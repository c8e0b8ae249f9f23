"""Tools for journey authors, offline and over HTTP: the graph, the simulator and the
definition language's reference."""
