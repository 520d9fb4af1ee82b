"""Time as a dependency, so use cases stamp users without reading the system clock themselves."""

from collections.abc import Callable
from datetime import datetime

Clock = Callable[[], datetime]
"""Returns the current moment as an aware UTC datetime."""
