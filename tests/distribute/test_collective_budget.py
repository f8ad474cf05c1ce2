"""The collective budget of one train step on two replicas, counted while `fit` traces it:
gradients all-reduced once per optimizer step (their norms computed from the sums), every
logged value in one batched all-reduce, and the step's writes of replicated state (EMA, step
counter, non-finite record) in one merge_call. Before, the EMA GAN below traced 14 all-reduce
calls (29 tensors: the norms reduced the gradients a second time) and 14 merge_calls (one per
EMA variable)."""

import collections
import threading
import traceback

import pytest
import tensorflow as tf

from tests.models.variants import VARIANTS
from tfgen.distribute import resolve_strategy


@pytest.fixture
def counted(monkeypatch):
    """Collective calls made by replica 0, by tfgen function (those nested inside another
    counted call, such as the merge_call inside an all-reduce, not counted again)."""
    calls = collections.Counter()
    local = threading.local()
    context = tf.distribute.ReplicaContext
    original = {"all_reduce": context.all_reduce, "merge_call": context.merge_call}

    def counting(kind):
        def call(self, *args, **kwargs):
            top = not getattr(local, "inside", False)
            if top and tf.get_static_value(self.replica_id_in_sync_group) == 0:
                ours = [f.name for f in traceback.extract_stack()[:-1]
                        if "/tfgen/" in f.filename.replace("\\", "/")]
                calls[kind, ours[-1] if ours else "?"] += 1
                if kind == "all_reduce":
                    calls["tensors", ours[-1]] += len(tf.nest.flatten(args[1]))
            local.inside = True
            try:
                return original[kind](self, *args, **kwargs)
            finally:
                local.inside = not top

        return call

    for kind in original:
        monkeypatch.setattr(context, kind, counting(kind))
    return calls


@pytest.mark.parametrize("name, optimizer_steps", [
    ("gan-mlp-gp-ncritic2-ema", 3),  # two discriminator steps and one generator step
    ("vae-mlp-linear-warmup", 1),
])
def test_one_step_on_two_replicas_keeps_its_collective_budget(cpu_devices, counted, name,
                                                              optimizer_steps):
    v = next(v for v in VARIANTS if v.name == name)
    strategy = resolve_strategy("mirrored")
    with strategy.scope():
        model = v.build()
    counted.clear()
    model.fit(v.data(strategy), epochs=1, steps_per_epoch=1, verbose=0)
    summary = dict(counted)
    weights = len(model.trainable_weights)
    # gradients: one batched all-reduce per optimizer step, of that optimizer's variables
    assert summary.pop(("all_reduce", "apply_gradients")) == optimizer_steps, summary
    assert summary.pop(("tensors", "apply_gradients")) == weights + (
        len(model.discriminator.trainable_weights) if name.startswith("gan") else 0), summary
    # logs: one all-reduce of all the step's logged shares
    assert summary.pop(("all_reduce", "all_sum")) == 1, summary
    summary.pop(("tensors", "all_sum"))
    # state: one merge_call; Keras's optimizer: its update and its iteration count, per step
    assert summary.pop(("merge_call", "assign_replicated")) == 1, summary
    assert summary.pop(("merge_call", "apply_gradients")) == 2 * optimizer_steps, summary
    assert not summary, f"collective calls beyond the budget: {summary}"
