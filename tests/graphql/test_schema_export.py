"""`schema.graphql` at the repository root is the code's schema, exported."""

from torale.graphql.export import REPO_SCHEMA, sdl


def test_schema_file_matches_the_code():
    assert REPO_SCHEMA.read_text() == sdl(), (
        "schema.graphql is stale: run `python -m torale.graphql.export`"
    )
