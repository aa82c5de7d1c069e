"""``python eval.py weights.pt VIDEOS... [--labels labels.csv] [--out OUTDIR]``: see :mod:`dfdetect.evaluate`."""

import sys

from dfdetect.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
