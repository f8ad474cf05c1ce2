"""Every model variant of `tests.models.variants.VARIANTS` keeps the invariants of
`check_variant`: 1 vs 2 replicas, XLA, bfloat16, `model.keras` round trip, bit-identical
resume from the checkpointed training state."""

import pytest

from tests.models.variants import CHECKS, VARIANTS, cases, check_variant


@pytest.mark.parametrize("check", CHECKS)
def test_every_check_has_variants(check):
    assert any(check in v.checks for v in VARIANTS), f"no variant runs the {check!r} check"


@pytest.mark.parametrize("variant", cases("replicas"))
def test_one_replica_equals_two_mirrored_replicas(variant, cpu_devices):
    check_variant(variant, ("replicas",))


@pytest.mark.parametrize("variant", cases("xla"))
def test_train_step_compiles_with_xla(variant):
    check_variant(variant, ("xla",))


@pytest.mark.parametrize("variant", cases("bf16"))
def test_mixed_bfloat16_step_matches_float32(variant):
    check_variant(variant, ("bf16",))


@pytest.mark.parametrize("variant", cases("save", "resume"))
def test_save_round_trip_and_bit_identical_resume(variant, tmp_path):
    check_variant(variant, tuple(c for c in ("save", "resume") if c in variant.checks), tmp_path)
