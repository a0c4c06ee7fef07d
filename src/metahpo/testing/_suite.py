"""The contract as a pytest base class: subclass it, override ``make_sampler``, and collect it."""

from __future__ import annotations

from pathlib import Path

from optuna.samplers import BaseSampler

from metahpo.testing import _contract as c


class SamplerContract:
    """Every check of the sampler contract as a ``test_*`` method that pytest collects.

    Subclass it in a class whose name starts with ``Test`` and override :meth:`make_sampler`;
    each method runs one check of :data:`~metahpo.testing.CHECKS` on fresh samplers and fails
    with the breach. The methods use pytest's ``tmp_path`` fixture and nothing else of pytest.
    """

    def make_sampler(self, seed: int) -> BaseSampler:
        """A fresh sampler seeded with ``seed``; the same seed must give the same proposals."""
        raise NotImplementedError(f"{type(self).__name__} must override make_sampler(seed)")

    def test_same_seed_same_configurations(self, tmp_path: Path) -> None:
        c.check_same_seed_same_configurations(self.make_sampler, tmp_path)

    def test_enqueued_trial_runs_as_given_and_not_again(self, tmp_path: Path) -> None:
        c.check_enqueued_trial_runs_as_given_and_not_again(self.make_sampler, tmp_path)

    def test_narrowed_integer_range_gives_distinct_configurations(self, tmp_path: Path) -> None:
        c.check_narrowed_integer_range_gives_distinct_configurations(self.make_sampler, tmp_path)

    def test_wider_range_other_types_conditional_and_unknown_parameters(
        self, tmp_path: Path
    ) -> None:
        c.check_wider_range_other_types_conditional_and_unknown_parameters(
            self.make_sampler, tmp_path
        )

    def test_failing_objective_is_survived_and_not_retried_as_new(self, tmp_path: Path) -> None:
        c.check_failing_objective_is_survived_and_not_retried_as_new(self.make_sampler, tmp_path)

    def test_two_threads_on_one_sqlite_study_never_evaluate_a_configuration_twice(
        self, tmp_path: Path
    ) -> None:
        c.check_two_threads_on_one_sqlite_study_never_evaluate_a_configuration_twice(
            self.make_sampler, tmp_path
        )

    def test_hyperband_pruner_does_not_hide_evaluated_configurations(self, tmp_path: Path) -> None:
        c.check_hyperband_pruner_does_not_hide_evaluated_configurations(self.make_sampler, tmp_path)

    def test_successive_halving_pruner_reaches_the_wanted_complete_trials(
        self, tmp_path: Path
    ) -> None:
        c.check_successive_halving_pruner_reaches_the_wanted_complete_trials(
            self.make_sampler, tmp_path
        )

    def test_hyperband_pruner_reaches_the_wanted_complete_trials(self, tmp_path: Path) -> None:
        c.check_hyperband_pruner_reaches_the_wanted_complete_trials(self.make_sampler, tmp_path)

    def test_reseed_keeps_proposing_valid_new_configurations(self, tmp_path: Path) -> None:
        c.check_reseed_keeps_proposing_valid_new_configurations(self.make_sampler, tmp_path)

    def test_resume_after_a_killed_worker(self, tmp_path: Path) -> None:
        c.check_resume_after_a_killed_worker(self.make_sampler, tmp_path)
