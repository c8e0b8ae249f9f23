"""Fault tests: a failing test's report ends with the logs of the processes it ran."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.faults.stack import RUNNING_STACK


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    stack = item.stash.get(RUNNING_STACK, None)
    if report.failed and stack is not None:
        for child in stack.children():
            report.sections.append((f"{child.name} log (end)", child.tail()))
    return report
