"""Persisted operations: documents a frontend sends by hash instead of by text.

Every `*.graphql` file under `torale/graphql/persisted/` is one document. At start-up
each is compiled (parsed, validated, guarded) once; a `/graphql` request then names it
the way Apollo's automatic persisted queries do, without a `query`:

    {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}},
     "variables": {...}}

The hash is the SHA-256 (hex) of the file's text, byte for byte. An unknown hash is
answered with `PERSISTED_QUERY_NOT_FOUND`; documents are never registered by clients.
`python -m torale.graphql.persisted` lists the registered hashes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import GraphQLError

PERSISTED_DIR = Path(__file__).resolve().parent / "persisted"
NOT_FOUND = "PersistedQueryNotFound"
NOT_FOUND_CODE = "PERSISTED_QUERY_NOT_FOUND"
HASH_MISMATCH = "provided sha does not match query"
HASH_MISMATCH_CODE = "BAD_REQUEST"


@dataclass(frozen=True, slots=True)
class PersistedDocument:
    sha256: str
    name: str  # the file's name without `.graphql`
    text: str


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def persisted_documents(directory: Path = PERSISTED_DIR) -> list[PersistedDocument]:
    """Every persisted document shipped with the package, by file name."""
    documents = []
    for path in sorted(directory.glob("*.graphql")):
        text = path.read_text(encoding="utf-8")
        documents.append(PersistedDocument(document_hash(text), path.stem, text))
    return documents


def persisted_hashes(directory: Path = PERSISTED_DIR) -> dict[str, str]:
    """{operation file name: sha256 hex}, what a frontend's build sends instead of text."""
    return {doc.name: doc.sha256 for doc in persisted_documents(directory)}


def requested_hash(extensions: Any) -> str | None:
    """`extensions.persistedQuery.sha256Hash` of a request, when it names one."""
    if not isinstance(extensions, dict):
        return None
    persisted = extensions.get("persistedQuery")
    if not isinstance(persisted, dict):
        return None
    sha = persisted.get("sha256Hash")
    return sha if isinstance(sha, str) else None


def not_found() -> GraphQLError:
    return GraphQLError(NOT_FOUND, extensions={"code": NOT_FOUND_CODE})


def hash_mismatch() -> GraphQLError:
    return GraphQLError(HASH_MISMATCH, extensions={"code": HASH_MISMATCH_CODE})


if __name__ == "__main__":
    for name, sha in persisted_hashes().items():
        print(f"{sha}  {name}")
