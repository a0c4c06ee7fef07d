import sys

from metahpo.cli import main

if __name__ == "__main__":
    sys.exit(main())
