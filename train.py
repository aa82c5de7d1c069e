"""``python train.py --data CROPS_MANIFEST ...``: train the deepfake clip model (see :mod:`dfdetect.training.cli`)."""

import sys

from dfdetect.training.cli import main

if __name__ == "__main__":
    sys.exit(main())
