"""The conversation mechanism, aiogram's side: the lazy FSM (`lazy_fsm`), how an update
reaches its conversation in each storage mode (`access`), the per-user lease's middleware
(`lease`), the in-memory redelivery check of one process (`duplicate_updates`), and the
ports the MongoDB side implements (`ports`).

The MongoDB side is `infrastructure.conversation` (the storage, the record of handled
updates, the lease), so that pymongo stays in `infrastructure` and aiogram's middleware in
`presentation`; this package imports only its errors. `docs/conversations.md` draws what a
step costs in each mode and where a redelivered update is recognised.
"""
