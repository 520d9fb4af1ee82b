import time

from application.time_budget import deadline, outside_budget, time_budget


def test_there_is_no_deadline_outside_a_budget() -> None:
    assert deadline() is None


def test_a_budget_sets_the_deadline_from_now_and_restores_the_outer_one() -> None:
    with time_budget(10):
        outer = deadline()
        assert outer is not None
        assert 9 < outer - time.monotonic() <= 10
        with time_budget(1):
            inner = deadline()
            assert inner is not None
            assert inner < outer
        assert deadline() == outer
    assert deadline() is None


def test_an_inner_budget_never_outlasts_the_outer_one() -> None:
    with time_budget(1):
        outer = deadline()
        with time_budget(60):
            assert deadline() == outer


def test_work_outside_the_budget_has_no_deadline() -> None:
    with time_budget(1), outside_budget():
        assert deadline() is None
