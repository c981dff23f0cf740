"""Shared test settings."""

import jax
import pytest


@pytest.fixture(autouse=True, scope="session")
def exact_matmuls():
    """Full float32 matmuls: a GPU would otherwise use TF32, and the comparisons in these tests would not hold there.

    (Measured on an H200: without this, scan-vs-loop, wavefront and finite-difference checks of
    ``test_model.py`` miss their tolerances by TF32's ~1e-3 relative error.)
    """
    with jax.default_matmul_precision("highest"):
        yield
