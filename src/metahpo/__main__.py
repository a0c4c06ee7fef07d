import sys

from metahpo.cli import main

sys.exit(main())
