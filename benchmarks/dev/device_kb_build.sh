#!/bin/bash
# The lgbm/xgb experience build on a lent device machine (development aid; the project never
# depends on it). Before the call, here: the wheels (lightgbm, xgboost-cpu, scikit-learn of the
# local version, optuna and its needs, for cp312) in .whl/, a copy of ../shared/datasets in
# .devdata/kbdata and the build storage gzipped as .devdata/kb.db.gz (both folders ignored by
# .git/info/exclude); run it with carry [".whl", ".devdata"]; untar $OUT/kb.tgz here after.
# Used on 2026-11-27 (session 9): 72 datasets in two calls of 9 and 3.5 minutes.
set -u
START=$(date +%s); DEADLINE=${DEADLINE:-540}; W=${W:-16}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=$PWD/src:/tmp/site PYTHONUNBUFFERED=1
python3 -c "import sklearn, numpy, scipy, pandas, optuna, lightgbm, xgboost; print('versions', sklearn.__version__, numpy.__version__, scipy.__version__, pandas.__version__, optuna.__version__, lightgbm.__version__, xgboost.__version__)" || exit 1
nproc; lscpu | grep -E "Model name|^CPU\(s\)|Thread" 
mkdir -p /tmp/kb; gunzip -c .devdata/kb.db.gz > /tmp/kb/kb.db
LEFT=$(( DEADLINE - ($(date +%s) - START) - 25 ))
echo "build for $LEFT s"
timeout -k 5 -s TERM $LEFT python3 -m metahpo kb build --datasets .devdata/kbdata --models lgbm xgb \
  --workers $W --storage sqlite:////tmp/kb/kb.db --export src/metahpo/_data/kb > $OUT/build.log 2>&1
echo "build rc=$?"
pkill -9 -f "metahpo kb build"; sleep 1
tar czf $OUT/kb.tgz src/metahpo/_data/kb
gzip -c /tmp/kb/kb.db > $OUT/kb.db.gz
python3 - <<'P'
import numpy as np, json, glob
n = sum('lgbm' in json.loads(str(np.load(f)['meta']))['families'] for f in glob.glob('src/metahpo/_data/kb/shards/*.npz'))
print('shards with lgbm:', n)
P
ls -la $OUT; echo "total $(( $(date +%s) - START )) s"; tail -c 600 $OUT/build.log
