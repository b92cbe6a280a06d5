"""CI reports breaking GraphQL changes: only those accepted (with a reason) may ship."""

from __future__ import annotations

import pytest

from torale.graphql import compat
from torale.graphql.compat import Change, accepted_changes, describe, report

RELEASED = """
type Query { task(id: ID!): Task! tasks(state: String): [Task!]! }
type Task { id: ID! state: String! }
enum Color { RED }
input Filter { color: Color }
"""


def test_the_schema_breaks_the_released_one_only_as_accepted():
    found = report()
    assert found.ok, describe(found)


def test_an_unaccepted_breaking_change_fails_and_is_named():
    current = RELEASED.replace("state: String!", "state: Int!")
    found = report(RELEASED, current, accepted=[])
    assert not found.ok
    (change,) = found.unaccepted
    assert change.kind == "FIELD_CHANGED_KIND" and "Task.state" in change.description
    # The report says what to add to the list.
    assert 'description = "Field Task.state changed type from String! to Int!."' in describe(found)
    assert report(RELEASED, current, accepted=[change]).ok


def test_an_accepted_change_that_no_longer_happens_fails():
    stale = Change("FIELD_REMOVED", "Task.id was removed.")
    found = report(RELEASED, RELEASED, accepted=[stale])
    assert not found.ok and found.stale == [stale]


def test_dangerous_changes_are_reported_without_failing():
    current = RELEASED.replace("enum Color { RED }", "enum Color { RED BLUE }")
    found = report(RELEASED, current, accepted=[])
    assert found.ok and not found.breaking
    assert [c.kind for c in found.dangerous] == ["VALUE_ADDED_TO_ENUM"]


def test_every_accepted_change_needs_a_reason(tmp_path):
    listed = tmp_path / "accepted.toml"
    listed.write_text('[[change]]\nkind = "FIELD_REMOVED"\ndescription = "Task.id was removed."\n')
    with pytest.raises(ValueError, match="needs a reason"):
        accepted_changes(listed)
    listed.write_text(
        '[[change]]\nkind = "FIELD_REMOVED"\nreason = "gone"\n'
        'descriptions = ["Task.id was removed.", "Task.state was removed."]\n'
    )
    assert accepted_changes(listed) == [
        Change("FIELD_REMOVED", "Task.id was removed."),
        Change("FIELD_REMOVED", "Task.state was removed."),
    ]


def test_release_moves_the_baseline_and_empties_the_list(tmp_path, monkeypatch):
    released, accepted = tmp_path / "released.graphql", tmp_path / "accepted.toml"
    accepted.write_text('[[change]]\nkind = "X"\nreason = "r"\ndescription = "d"\n')
    monkeypatch.setattr(compat, "RELEASED", released)
    monkeypatch.setattr(compat, "ACCEPTED", accepted)
    assert compat.main(["--release"]) == 0
    assert released.read_text() == compat.REPO_SCHEMA.read_text()
    assert accepted_changes(accepted) == []
