"""The conversation's MongoDB side: aiogram's FSM storage (`storage`), the record of
handled updates kept in the same document (`handled_updates`), and the per-user lease on
that document (`lease`), which several processes serving the same users hold in turn.

The aiogram side (the lazy FSM and what each storage mode costs a step) is
`presentation.telegram.conversation`; `docs/conversations.md` has the picture. Errors that
only this mechanism raises are in `errors`, which the aiogram side may import: it is the
one module of `infrastructure` that names no driver.
"""
