"""Train a faststyle model: `python train.py --style starry.jpg --data photos/`. See --help."""

import sys

from faststyle.commands.train import main

if __name__ == "__main__":
    sys.exit(main())
