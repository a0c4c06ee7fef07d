"""The exported experience artifact: versioned JSON + one ``.npz`` shard per dataset.

Layout of a bundle folder (the package ships one in ``metahpo/_data/kb``)::

    manifest.json       format name and version, build settings, metric order, spaces
    designs.json        the shared design: family -> task -> list of configurations
    shards/NAME.npz     one per dataset: ``values`` (families x configs x metrics, float32,
                        NaN where an evaluation failed), ``fit_time`` (families x configs) and
                        ``meta`` (a JSON string: dataset, task, fingerprint, rows, features
                        and the families, in the order of ``values``; a shard may hold fewer
                        families than the manifest lists while a build extends the bundle)
    metafeatures.json   meta-feature names and one vector per dataset (recomputable cheaply)

No pickle anywhere: shards are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metahpo._files import atomic_write
from metahpo.errors import KnowledgeBaseError
from metahpo.evaluation import BUILD_METRICS
from metahpo.knowledge._records import TRIAL_FIT_TIME_ATTR, TRIAL_INDEX_ATTR, TRIAL_METRICS_ATTR
from metahpo.spaces import get_space

FORMAT = "metahpo-experience"
FORMAT_VERSION = 1
DEFAULT_BUNDLE = Path(__file__).resolve().parent.parent / "_data" / "kb"


def _atomic_write(path: Path, data: bytes) -> None:
    atomic_write(path, data)


@dataclass(frozen=True)
class ShardMeta:
    """What a shard says about its dataset."""

    dataset: str
    task: str
    fingerprint: str
    n_rows: int
    n_features: int
    families: tuple[str, ...]


class Bundle:
    """Reader and writer of a bundle folder."""

    def __init__(self, root: str | Path = DEFAULT_BUNDLE) -> None:
        self.root = Path(root)

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def manifest(self) -> dict[str, Any]:
        if not self.exists():
            raise KnowledgeBaseError(f"{self.root}: no experience bundle (manifest.json missing)")
        data: dict[str, Any] = json.loads(self.manifest_path.read_text())
        if data.get("format") != FORMAT:
            raise KnowledgeBaseError(f"{self.manifest_path}: not a metahpo experience bundle")
        if int(data.get("version", 0)) > FORMAT_VERSION:
            raise KnowledgeBaseError(
                f"{self.root}: bundle format {data['version']} is newer than this metahpo reads "
                f"({FORMAT_VERSION}); upgrade with: pip install -U metahpo"
            )
        return data

    def designs(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        loaded: dict[str, dict[str, list[dict[str, Any]]]] = json.loads(
            (self.root / "designs.json").read_text()
        )
        return loaded

    def initialise(self, settings: Mapping[str, Any], designs: Mapping[str, Any]) -> None:
        """Create the folder, or check that an existing one was built with the same settings.

        An existing bundle may be extended with families it lacks (same rows, folds, seed and
        design size; the families it has must keep their spaces and designs): the manifest
        and ``designs.json`` then list the families of both, and each shard keeps saying which
        families it holds until a build adds the new ones to it.
        """
        families = list(settings["families"])
        spaces = {
            f: {t: get_space(f, t).signature for t in ("classification", "regression")}
            for f in families
        }
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "settings": dict(settings),
            "metrics": {k: list(v) for k, v in BUILD_METRICS.items()},
            "spaces": spaces,
        }
        if not self.exists():
            (self.root / "shards").mkdir(parents=True, exist_ok=True)
            _atomic_write(self.root / "designs.json", json.dumps(designs).encode())
            _atomic_write(self.manifest_path, json.dumps(manifest, indent=1).encode())
            return
        old = self.manifest()
        old_families = list(old["settings"].get("families", []))
        common = [f for f in families if f in old_families]

        def protocol(s: Mapping[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in s.items() if k != "families"}

        if protocol(old["settings"]) != protocol(settings) or any(
            old["spaces"].get(f) != spaces[f] for f in common
        ):
            raise KnowledgeBaseError(
                f"{self.root} holds a bundle built with other settings or spaces; "
                "export to an empty folder"
            )
        stored = self.designs()
        if any(stored.get(f) != json.loads(json.dumps(designs[f])) for f in common):
            raise KnowledgeBaseError(
                f"{self.root}: the stored design differs from the one this installation "
                "generates (another SciPy version?); resuming would mix configurations"
            )
        added = [f for f in families if f not in old_families]
        if not added:
            return
        stored.update(json.loads(json.dumps({f: designs[f] for f in added})))
        old["settings"]["families"] = old_families + added
        old["spaces"].update({f: spaces[f] for f in added})
        _atomic_write(self.root / "designs.json", json.dumps(stored).encode())
        _atomic_write(self.manifest_path, json.dumps(old, indent=1).encode())

    def shard_names(self) -> list[str]:
        folder = self.root / "shards"
        if not folder.exists():
            return []
        return sorted(p.stem for p in folder.glob("*.npz"))

    def write_shard(self, meta: ShardMeta, values: np.ndarray, fit_time: np.ndarray) -> Path:
        path = self.root / "shards" / f"{meta.dataset}.npz"
        text = np.array(json.dumps(meta.__dict__ | {"families": list(meta.families)}))
        atomic_write(
            path,
            lambda fh: np.savez_compressed(
                fh,
                values=values.astype(np.float32),
                fit_time=fit_time.astype(np.float32),
                meta=text,
            ),
        )
        return path

    def shard_meta(self, dataset: str) -> ShardMeta:
        """What the shard of ``dataset`` says about it (its families included)."""
        with np.load(self.root / "shards" / f"{dataset}.npz", allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
        meta["families"] = tuple(meta["families"])
        return ShardMeta(**meta)

    def read_shard(self, dataset: str) -> tuple[ShardMeta, np.ndarray, np.ndarray]:
        with np.load(self.root / "shards" / f"{dataset}.npz", allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            meta["families"] = tuple(meta["families"])
            return ShardMeta(**meta), z["values"], z["fit_time"]

    def write_metafeatures(
        self, names: Sequence[str], vectors: Mapping[str, Sequence[float]]
    ) -> None:
        body = {
            "names": list(names),
            "values": {k: list(map(float, v)) for k, v in vectors.items()},
        }
        _atomic_write(self.root / "metafeatures.json", json.dumps(body).encode())

    def read_metafeatures(self) -> tuple[list[str], dict[str, np.ndarray]]:
        path = self.root / "metafeatures.json"
        if not path.exists():
            return [], {}
        body = json.loads(path.read_text())
        return list(body["names"]), {
            k: np.asarray(v, dtype=float) for k, v in body["values"].items()
        }


def shard_arrays(
    trials_by_family: Mapping[str, Sequence[Any]], task: str, n_configs: int
) -> tuple[np.ndarray, np.ndarray]:
    """``values`` and ``fit_time`` arrays of one dataset from its build trials."""
    metrics = BUILD_METRICS[task]
    fams = list(trials_by_family)
    values = np.full((len(fams), n_configs + 1, len(metrics)), np.nan, dtype=np.float32)
    fit_time = np.full((len(fams), n_configs + 1), np.nan, dtype=np.float32)
    for fi, fam in enumerate(fams):
        for t in trials_by_family[fam]:
            idx = t.user_attrs.get(TRIAL_INDEX_ATTR)
            if idx is None or not 0 <= int(idx) <= n_configs:
                continue
            got = t.user_attrs.get(TRIAL_METRICS_ATTR) or {}
            if t.state.name == "COMPLETE":
                for mi, m in enumerate(metrics):
                    v = got.get(m)
                    values[fi, int(idx), mi] = np.nan if v is None else float(v)
            fit_time[fi, int(idx)] = float(t.user_attrs.get(TRIAL_FIT_TIME_ATTR, np.nan))
    return values, fit_time
