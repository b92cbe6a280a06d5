"""Reading metrics in tests."""

from __future__ import annotations

from prometheus_client import REGISTRY


def value(name: str, **labels: str) -> float:
    """A sample of this process's registry (0 when never recorded)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def parse(text: str) -> dict[str, float]:
    """Exposition lines as {'name{labels}': value}."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, number = line.rpartition(" ")
            samples[key] = float(number)
    return samples
