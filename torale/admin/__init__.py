"""Admin views of the whole platform (SPEC §9): figures, executions, users, Temporal."""
