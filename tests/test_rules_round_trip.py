"""Export then restore gives identical metrics (the README's backup flow, through `divert`).

`divert export OUT` on the small demo, then `divert restore OUT` into a new database, and into a
database that `divert init` has just set up (the order a new server is set up in: issue 25 (4)
found it refused). On each, every `divert metrics` name gives exactly the output it gives on the
original, for an administrator and a viewer, with the defaults and with any options
(Hypothesis)."""

from __future__ import annotations

import functools

import pytest
from commands import divert
from dbfixtures import SMALL_DEMO, demo_url, main_url, migrated_url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rule_data import answer, frames_read_once, metric_options  # noqa: F401  (a fixture)

from divert.analytics.metrics import METRICS

NAMES = [*METRICS, "impact", "alerts", "disparity:pathway", "disparity:stop-search"]
TARGETS = ["a new database", "a database just initialised"]
AS_OF = str(SMALL_DEMO["as_of"])


class Databases:
    """The original, the backup and the two restores (with what `divert restore` said)."""

    def __init__(self, original: str, restored: dict[str, tuple[str, object]]):
        self.original, self.restored = original, restored

    def __repr__(self) -> str:  # Hypothesis prints the arguments of a failing example
        return "Databases(the small demo, and its backup restored)"


@pytest.fixture(scope="module")
def databases(tmp_path_factory, frames_read_once):  # noqa: F811
    folder = tmp_path_factory.mktemp("round-trip")
    original, _ = demo_url(folder, **SMALL_DEMO)
    exported = divert("export", str(folder / "backup"), "--db", original)
    assert exported.returncode == 0, exported.stderr
    new = main_url(folder, "restored.db")
    initialised = migrated_url(folder, "initialised.db")  # what `divert init` makes of an empty one, and then:
    init = divert("init", "--db", initialised)
    assert init.returncode == 0, init.stderr
    restored = {target: (url, divert("restore", str(folder / "backup"), "--db", url))
                for target, url in zip(TARGETS, [new, initialised], strict=True)}
    return Databases(original, restored)


def metrics(url: str, name: str, role: str, options: list[str]) -> tuple:
    return _metrics(url, name, role, tuple(options))


@functools.cache  # the databases do not change: each answer is asked for once
def _metrics(url: str, name: str, role: str, options: tuple[str, ...]) -> tuple:
    metric, _, source = name.partition(":")
    return answer("metrics", metric, "--db", url, "--role", role, "--format", "json", *options,
                  *(["--source", source] if source else []))


def restored_url(databases: Databases, target: str) -> str:
    url, ran = databases.restored[target]
    assert ran.returncode == 0, f"restore into {target} refused: {ran.stderr.strip()}"
    return url


@pytest.mark.parametrize("target", TARGETS)
def test_restore_into_a_new_or_just_initialised_database(databases, target):
    url = restored_url(databases, target)
    assert "Row counts and checksums of every table match the manifest" in databases.restored[target][1].stdout
    def status(db):  # the schema revision and the row counts (the restore itself is a new data version)
        ran = divert("status", "--db", db)
        assert ran.returncode == 0, ran.stderr
        return [line for line in ran.stdout.splitlines() if not line.startswith(("Database:", "Data version:",
                                                                                 "Person key:"))]

    assert status(url) == status(databases.original)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", NAMES)
def test_every_metric_is_the_same_after_export_and_restore(databases, target, name):
    url = restored_url(databases, target)
    for role in ("admin", "viewer"):
        before = metrics(databases.original, name, role, ["--as-of", AS_OF])
        assert before[0] in (0, 2), before[1:]  # 2: not published to the viewer
        assert metrics(url, name, role, ["--as-of", AS_OF]) == before, role


@pytest.mark.parametrize("target", TARGETS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_metric_with_any_options_is_the_same_after_export_and_restore(databases, target, data):
    url = restored_url(databases, target)
    name = data.draw(st.sampled_from(NAMES), label="metric")
    options = data.draw(metric_options(name.partition(":")[0]), label="options")
    role = data.draw(st.sampled_from(["admin", "viewer"]), label="role")
    # the same answer (a crash too: the test above reports it)
    assert metrics(url, name, role, options) == metrics(databases.original, name, role, options)
