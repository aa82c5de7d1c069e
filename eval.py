"""``python eval.py weights.pt VIDEOS... [--labels labels.csv] [--out OUTDIR]``: see dfdetect.inference.evaluate."""

import sys

from dfdetect.inference.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
