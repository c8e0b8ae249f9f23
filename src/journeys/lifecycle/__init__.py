"""What admins and contacts change outside of events: journeys published, paused and stopped,
triggers defined, contacts erased.

Each use case runs its store change in a transaction of its own and orders it against its
Temporal calls so that a failure half-way leaves nothing the next try cannot finish: a
journey's status is committed (and this process's catalog reloaded) before its runs are
told, and a contact's runs are stopped before its data goes.
"""
