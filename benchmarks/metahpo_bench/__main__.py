"""``python -m metahpo_bench``: the same as the ``metahpo-bench`` command."""

import sys

from metahpo_bench._main import main

sys.exit(main())
