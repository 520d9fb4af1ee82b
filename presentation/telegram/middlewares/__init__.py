"""Update middlewares: what happens around every update, whichever handler takes it."""
