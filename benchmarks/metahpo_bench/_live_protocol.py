"""Live benchmark protocol: which datasets are held out, which methods run, with what settings.

The live benchmark trains models for real on datasets held out from the experience. Its
protocol is fixed here so that every method, and every later variant, is measured the same way:

* **Held-out datasets** (:func:`select_holdout`): a seeded draw from a datasets folder's
  ``index.json``, stratified by task type (in proportion to the folder's counts) and, within a
  task type, by size (three row-count tertiles, equal shares, a remainder to the smallest
  tertiles first). Datasets with more than ``max_features`` features are not candidates (cost).
  At most one dataset per generator family (:func:`group_key`) is drawn; a stratum short of
  datasets of new families is filled from the task type's other strata.
* **Generator families** (:func:`group_key`): two datasets belong together when their names
  reduce to the same key: the OpenML id prefix (``586_``) and a ``BNG_`` prefix are removed,
  the name is lower-cased and split at ``_``, collection prefixes that say only where a
  dataset comes from (:data:`COLLECTION_PREFIXES`, e.g. ``analcatdata``) are skipped, the first
  remaining word loses its trailing digits, and :data:`ALIASES` maps known renamings
  (``satellite`` → ``satimage``, ``fried`` → ``fri``). So ``fri_c0_250_25`` and ``564_fried``
  are one family, as are ``led7`` and ``led24``, ``monk1``–``monk3``, ``197_cpu_act`` and
  ``562_cpu_small``, ``1193_BNG_lowbwt`` and a ``lowbwt``. Meta-learned methods learn from the
  experience minus every task of the held-out dataset's whole family.
* **Settings** (:class:`LiveSettings`): the same seeded row subsample, the same seeded CV folds
  and the same number of evaluations for every method; failed evaluations count.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from metahpo.errors import MetaHPOError
from metahpo.spaces import get_family

#: Name prefixes that name a source collection, not a generator: skipped by :func:`group_key`.
COLLECTION_PREFIXES = frozenset(
    {"analcatdata", "prnn", "sleuth", "visualizing", "chscase", "new", "ann", "mfeat", "molecular"}
)
#: Known renamings of one source: mapped to one key by :func:`group_key`.
ALIASES = {"satellite": "satimage", "fried": "fri", "hypothyroid": "thyroid"}

#: Held-out draw of record.
HOLDOUT_SEED = 2026
HOLDOUT_SIZE = 24
HOLDOUT_MAX_FEATURES = 500


def group_key(name: str) -> str:
    """The generator family of a dataset name (see the module docstring for the rule)."""
    stem = re.sub(r"^\d+_", "", name)
    stem = re.sub(r"^BNG_", "", stem, flags=re.IGNORECASE).lower()
    words = [w for w in stem.split("_") if w]
    while len(words) > 1 and words[0] in COLLECTION_PREFIXES:
        words = words[1:]
    head = re.sub(r"\d+$", "", words[0] if words else stem) or stem
    return ALIASES.get(head, head)


def select_holdout(
    index: Mapping[str, Mapping[str, Any]],
    n: int = HOLDOUT_SIZE,
    *,
    seed: int = HOLDOUT_SEED,
    max_features: int = HOLDOUT_MAX_FEATURES,
) -> tuple[str, ...]:
    """The held-out datasets: a seeded draw stratified by task type and size.

    Args:
        index: ``{name: {"task": ..., "n": rows, "p": features}}`` (a datasets folder's
            ``index.json``).
        n: How many to draw.
        seed: Seed of the draw.
        max_features: Datasets with more features are not candidates.

    Returns:
        The drawn names, sorted.
    """
    candidates = sorted(k for k, v in index.items() if int(v["p"]) <= max_features)
    if n < 1 or n > len(candidates):
        raise MetaHPOError(f"cannot draw {n} held-out datasets from {len(candidates)} candidates")
    by_task: dict[str, list[str]] = {}
    for name in candidates:
        by_task.setdefault(str(index[name]["task"]), []).append(name)
    tasks = sorted(by_task)
    shares = np.array([len(by_task[t]) for t in tasks], dtype=float) * n / len(candidates)
    quota = np.floor(shares).astype(int)
    for i in np.argsort(-(shares - quota), kind="stable")[: n - int(quota.sum())]:
        quota[i] += 1
    rng = np.random.default_rng(seed)
    chosen: list[str] = []
    groups: set[str] = set()
    for task, k in zip(tasks, quota, strict=True):
        names = sorted(by_task[task], key=lambda m: (int(index[m]["n"]), m))
        strata = np.array_split(np.array(names, dtype=object), 3)
        per = [k // 3 + (1 if i < k % 3 else 0) for i in range(3)]
        for stratum, want in zip(strata, per, strict=True):
            got = 0
            for name in rng.permutation(stratum):
                if got == want:
                    break
                if group_key(str(name)) in groups:
                    continue
                chosen.append(str(name))
                groups.add(group_key(str(name)))
                got += 1
        # A stratum short of datasets of new generator families: the task's other strata fill
        # in (the generator is drawn from only then, so full draws do not depend on this step).
        short = int(k) - sum(index[c]["task"] == task for c in chosen)
        if short > 0:
            for name in rng.permutation(np.array(names, dtype=object)):
                if short > 0 and str(name) not in chosen and group_key(str(name)) not in groups:
                    chosen.append(str(name))
                    groups.add(group_key(str(name)))
                    short -= 1
    if len(chosen) < n:
        raise MetaHPOError(
            f"only {len(chosen)} of {n} held-out datasets could be drawn with one per generator "
            "family"
        )
    return tuple(sorted(chosen))


#: Parameters whose lower bound is the cheap end of their range: FLAML's low-cost start.
LOW_COST_PARAMS = frozenset({"max_iter", "n_estimators", "max_leaf_nodes", "width", "depth"})


@dataclass(frozen=True)
class LiveMethod:
    """How one live method tunes.

    Attributes:
        name: Registry name (also the name of its cache file).
        description: One line for LIVE.md.
        kind: ``"optuna"`` (an Optuna sampler on the study), ``"meta"`` (metahpo's
            :class:`~metahpo.optimizers.MetaSampler`), ``"default"`` (the library default, then
            random), ``"flaml"`` (FLAML's CFO with its low-cost start) or ``"skopt"``
            (scikit-optimize's ``gp_minimize``).
        optimizer: The Optuna optimizer name (``kind="optuna"``).
        strategy, base, warm_start: The meta sampler's parts (``kind="meta"``).
        base_options: Keyword options of the base, ``(name, value)`` pairs, passed to metahpo
            as ``base_options=dict(...)`` (``kind="meta"``; empty: the base as registered). A
            dev variant of a base is a method with options, never a patched module.
        revision: Bumped when the code behind a method changes what it proposes, so that its
            cached runs are computed again.
        peer: Whether this is a baseline a user would pick instead of metahpo.
    """

    name: str
    description: str
    kind: str
    optimizer: str = ""
    strategy: str = "portfolio"
    base: str = ""
    warm_start: int = 5
    revision: int = 1
    peer: bool = False
    base_options: tuple[tuple[str, Any], ...] = field(default=())

    def fingerprint(self) -> dict[str, Any]:
        """What defines the method's runs (a change makes cached runs stale).

        The base options are hashed under the key ``options``: the field's name in every run
        cached before it took that role (always empty then), so their fingerprints hold.
        """
        d = asdict(self)
        d.pop("description")
        d.pop("peer")
        d["options"] = d.pop("base_options")
        if self.kind == "meta" and not self.base:
            from metahpo.optimizers import DEFAULT_BASE

            d["base"] = DEFAULT_BASE  # "meta" follows the library default
        return d


#: Revision of every metahpo method (``kind="meta"``): 2 since the library default goes first
#: unless the similar tasks clearly favour the meta-learned best (issue 15); 3 since
#: ``transfer-gp``'s expected improvement uses the latent deviation, without observation noise;
#: 4 since the first suggestion is the best loss-averse bet against the library default among
#: the meta-learner's top ten (or the default).
META_REVISION = 4


def _registry() -> dict[str, LiveMethod]:
    from metahpo.optimizers import BASES

    m: dict[str, LiveMethod] = {
        "meta": LiveMethod(
            "meta",
            "metahpo tune's default (MetaSampler as shipped)",
            "meta",
            revision=META_REVISION,
        ),
        "default": LiveMethod("default", "library default first, then random", "default"),
        "random": LiveMethod("random", "Optuna RandomSampler", "optuna", "random", peer=True),
        "tpe": LiveMethod("tpe", "Optuna TPESampler (multivariate)", "optuna", "tpe", peer=True),
        "gp": LiveMethod("gp", "Optuna GPSampler", "optuna", "gp", peer=True),
        "cmaes": LiveMethod("cmaes", "Optuna CmaEsSampler", "optuna", "cmaes", peer=True),
        "flaml": LiveMethod(
            "flaml", "FLAML flaml.tune, CFO with its low-cost start", "flaml", peer=True
        ),
        "skopt": LiveMethod("skopt", "scikit-optimize gp_minimize (defaults)", "skopt", peer=True),
    }
    for base in BASES:
        m[f"meta-{base}"] = LiveMethod(
            f"meta-{base}",
            f"MetaSampler: 5 portfolio warm starts, then '{base}'",
            "meta",
            base=base,
            revision=META_REVISION,
        )
    m["meta-gpsampler"] = LiveMethod(
        "meta-gpsampler",
        "MetaSampler: 5 portfolio warm starts, then Optuna's GPSampler",
        "meta",
        base="optuna-gp",
        revision=META_REVISION,
    )
    return m


#: Every live method by name.
LIVE_METHODS: dict[str, LiveMethod] = _registry()

#: The baseline grid of record: metahpo's default against what a user would pick instead.
LIVE_DEFAULT_METHODS: tuple[str, ...] = ("meta", "random", "tpe", "gp", "cmaes", "flaml", "skopt")


def _option_value(text: str) -> Any:
    """``3`` -> 3, ``0.5`` -> 0.5, ``false``/``False`` -> False, anything else as text."""
    try:
        return json.loads(text.lower() if text in ("True", "False") else text)
    except json.JSONDecodeError:
        return text


def parse_variant(text: str) -> tuple[str, str, dict[str, Any]]:
    """A dev variant declared as ``NAME:BASE[:key=value,...]`` -> ``(NAME, BASE, options)``.

    Example:
        >>> parse_variant("noisy:transfer-gp:latent=false,k=5")
        ('noisy', 'transfer-gp', {'latent': False, 'k': 5})
    """
    name, _, rest = text.partition(":")
    base, _, opts = rest.partition(":")
    if not name or not base:
        raise MetaHPOError(f"--variant {text!r}: give NAME:BASE[:key=value,...]")
    options: dict[str, Any] = {}
    for item in filter(None, opts.split(",")):
        key, eq, value = item.partition("=")
        if not key or not eq:
            raise MetaHPOError(f"--variant {text!r}: option {item!r} is not key=value")
        options[key] = _option_value(value)
    return name, base, options


def variant_method(name: str, base: str, options: Mapping[str, Any] | None = None) -> LiveMethod:
    """A dev variant of metahpo's default method, ``meta-<name>``: the same warm starts, then
    ``base`` (a name of :data:`metahpo.optimizers.REGISTRY`) with keyword ``options``.

    Add it to :data:`LIVE_METHODS` to run it. A new base is a :class:`metahpo.optimizers.Base`
    entry added to that public registry first; neither touches a module of metahpo.
    """
    from metahpo.optimizers import REGISTRY

    if base not in REGISTRY:
        raise MetaHPOError(
            f"variant {name!r}: unknown base {base!r}; choose one of {', '.join(REGISTRY)}"
        )
    described = ", ".join(f"{k}={v!r}" for k, v in sorted((options or {}).items()))
    return replace(
        LIVE_METHODS["meta"],
        name=f"meta-{name}",
        description=f"dev variant: MetaSampler, then '{base}'"
        + (f" ({described})" if described else ""),
        base=base,
        base_options=tuple(sorted((options or {}).items())),
    )


@dataclass(frozen=True)
class LiveSettings:
    """What a live benchmark runs (the defaults are the run of record).

    Attributes:
        budget: Evaluations per run (failed ones count).
        seeds: Runs per (method, dataset, family); seed ``s`` gives every method the same CV
            folds and model seeds.
        methods: Names from :data:`LIVE_METHODS`.
        families: Model families.
        cv_folds: Cross-validation folds of every evaluation.
        max_rows: Larger datasets are subsampled to this many rows (stratified for
            classification, seed 0, the same for every method and seed).
        trial_time_limit: Seconds; an evaluation whose fits take longer fails.
        workers: Parallel processes (one thread each).
    """

    budget: int = 30
    seeds: int = 2
    methods: tuple[str, ...] = LIVE_DEFAULT_METHODS
    families: tuple[str, ...] = ("hgb", "lgbm", "xgb", "rf", "svm", "mlp")
    cv_folds: int = 3
    max_rows: int = 1000
    trial_time_limit: float = 60.0
    workers: int = 2

    def validate(self) -> None:
        for name, value in (("budget", self.budget), ("seeds", self.seeds)):
            if value < 1:
                raise MetaHPOError(f"--{name} must be at least 1; got {value}")
        if self.cv_folds < 2:
            raise MetaHPOError(f"--cv-folds must be at least 2; got {self.cv_folds}")
        if self.max_rows < 10:
            raise MetaHPOError(f"--max-rows must be at least 10; got {self.max_rows}")
        if not self.trial_time_limit > 0:
            raise MetaHPOError(f"--trial-timeout must be positive; got {self.trial_time_limit}")
        if self.workers < 1:
            raise MetaHPOError(f"--workers must be at least 1; got {self.workers}")
        if not self.methods:
            raise MetaHPOError("no benchmark methods selected")
        unknown = [m for m in self.methods if m not in LIVE_METHODS]
        if unknown:
            raise MetaHPOError(
                f"unknown live method(s) {', '.join(unknown)}; choose from "
                f"{', '.join(LIVE_METHODS)}"
            )
        for f in self.families:
            get_family(f).check_available()

    def protocol(self) -> dict[str, Any]:
        """The settings every run of a method shares (part of each run's fingerprint)."""
        return {
            "budget": self.budget,
            "cv_folds": self.cv_folds,
            "max_rows": self.max_rows,
            "trial_time_limit": self.trial_time_limit,
        }


def run_fingerprint(method: LiveMethod, settings: LiveSettings, experience_version: str) -> str:
    """A short hash of everything that defines one method's runs."""
    payload = {
        "method": method.fingerprint(),
        "protocol": settings.protocol(),
        "experience": experience_version if method.kind == "meta" else "",
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
