"""``python train.py --data CROPS_MANIFEST ...``: train the deepfake clip model (see dfdetect/training.py)."""

import sys

from dfdetect.training.loop import main

if __name__ == "__main__":
    sys.exit(main())
