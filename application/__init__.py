"""Use cases of the profile bot and the ports they depend on."""
