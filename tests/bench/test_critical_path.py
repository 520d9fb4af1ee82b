"""Sequential round trips: overlapping commands are one round, one sent after the previous
answer came back starts the next."""

from bench.critical_path import Span, rounds


def span(start: float, end: float) -> Span:
    return Span(start, end, "bench", "find", "users")


def test_no_commands_are_no_rounds() -> None:
    assert rounds([]) == 0


def test_commands_one_after_another_are_a_round_each() -> None:
    assert rounds([span(0, 1), span(1, 2), span(2.5, 3)]) == 3


def test_commands_sent_together_are_one_round() -> None:
    assert rounds([span(0, 1), span(0.1, 1.2), span(0.5, 0.9)]) == 1


def test_a_command_sent_during_a_later_answered_one_joins_its_round() -> None:
    # the second overlaps the first; the third overlaps only the second, which is still open
    assert rounds([span(0, 1), span(0.5, 2), span(1.5, 3), span(3, 4)]) == 2


def test_the_order_spans_are_given_in_does_not_matter() -> None:
    assert rounds([span(2, 3), span(0, 1), span(0.5, 0.8)]) == 2
