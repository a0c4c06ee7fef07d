"""Names the argument parsers need, written out so that building the parser imports nothing
heavy (``metahpo --help`` and argument errors stay fast). tests/cli/test_cli_options.py checks
each against the library's own value."""

from __future__ import annotations

#: ``metahpo.spaces.FAMILY_NAMES``.
FAMILY_NAMES: tuple[str, ...] = ("hgb", "rf", "svm", "linear", "knn", "mlp", "lgbm", "xgb")
#: ``metahpo.knowledge.DEFAULT_STORAGE``.
DEFAULT_STORAGE = "sqlite:///metahpo.db"
#: ``metahpo.optimizers.DEFAULT_BASE``.
DEFAULT_BASE = "transfer-gp"
#: Each base's options (``metahpo.optimizers.REGISTRY[name].options``): name -> smallest value
#: of an integer option, or ``"bool"`` for a flag.
BASE_OPTIONS: dict[str, dict[str, int | str]] = {
    "tpe": {},
    "gp": {},
    "cmaes": {},
    "evolution": {},
    "transfer": {"n_transfer": 0},
    "transfer-gp": {"latent": "bool"},
    "rl": {},
    "maml": {},
    "fsbo": {},
    "random": {},
    "gpsampler": {},
}
#: ``metahpo.tuning.tune``'s default ``strategy`` and ``warm_start``.
DEFAULT_STRATEGY = "portfolio"
DEFAULT_WARM_START = 5
