"""The train and test functions of a `GenerativeModel` under MultiWorkerMirroredStrategy,
where Keras's own fail (see `MultiWorkerSteps.make_train_function`)."""

from __future__ import annotations

import tensorflow as tf


def _is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and getattr(
        strategy.extended, "_in_multi_worker_mode", lambda: False
    )()



class MultiWorkerSteps:
    """Mixin of `GenerativeModel`."""

    def make_train_function(self, force: bool = False):
        """Keras's train function, except under MultiWorkerMirroredStrategy with several steps
        per execution. There Keras's loop (`tf.while_loop` over `get_next_as_optional`, which
        all-reduces "has data" across workers inside a `tf.cond`) fails in its first epoch
        with "You must feed a value for placeholder tensor 'while/cond/Placeholder'". tfgen's
        training streams are endless, so the steps of an execution simply take the next batch:
        a `tf.range` loop of `steps_per_execution` distributed steps, no optional, no
        collective in a conditional."""
        if self.train_function is not None and not force:
            return self.train_function
        super().make_train_function(force)
        if _is_multi_worker(self.distribute_strategy) and self.steps_per_execution > 1:
            self.train_function = self._multi_worker_train_function()
        return self.train_function

    def make_test_function(self, force: bool = False):
        """Keras's test function, except under MultiWorkerMirroredStrategy with several steps
        per execution, where Keras's loop fails as in training (see `make_train_function`).
        Validation data is finite, so there the steps of an execution are single-step calls
        until the execution is done or the data ends."""
        if self.test_function is not None and not force:
            return self.test_function
        super().make_test_function(force)
        if _is_multi_worker(self.distribute_strategy) and self.steps_per_execution > 1:
            one_step = tf.function(self._distributed_step(self.test_step))
            steps = int(self.steps_per_execution)

            def function(iterator):
                logs = None
                for _ in range(steps):
                    try:
                        logs = one_step(iterator)
                    except tf.errors.OutOfRangeError:
                        break
                if logs is None:
                    raise StopIteration
                return logs

            self.test_function = function
        return self.test_function

    def _distributed_step(self, step):
        strategy = self.distribute_strategy

        def one_step(iterator):
            outputs = strategy.run(step, args=(next(iterator),))
            # Logs are global and [1]-shaped here (`worker_safe`): every replica holds the same.
            return {k: strategy.reduce("MEAN", v, axis=0) for k, v in outputs.items()}

        return one_step

    def _multi_worker_train_function(self):
        steps = int(self.steps_per_execution)
        one_step = self._distributed_step(self.train_step)

        @tf.function(jit_compile=self.jit_compile)
        def multi_step(iterator):
            logs = one_step(iterator)
            for _ in tf.range(steps - 1):
                logs = one_step(iterator)
            return logs

        def function(iterator):
            return multi_step(iterator)

        return function

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Our models are fully built before `fit`. Keras would otherwise pull a batch and reduce it
        # across replicas, which fails for (samples, labels) batches under
        # MultiWorkerMirroredStrategy.
        if self.built and all(layer.built for layer in self._flatten_layers()):
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)


