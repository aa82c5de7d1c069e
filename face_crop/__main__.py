"""``python -m face_crop FRAMES CROPS``: MTCNN face crops for a frame_extraction output folder.

Example:
    python -m face_crop out/frames out/crops --min-faces 10 --margin 0.3 --size 224 --workers 2
"""

from __future__ import annotations

import argparse
import logging
import sys

from dfdetect.core.io import InputError, setup_logging
from face_crop.detect import BATCH_SIZE, MAX_SIDE

log = logging.getLogger("face_crop")


def get_args_parser() -> argparse.ArgumentParser:
    """Command-line options (detector thresholds are module constants in :mod:`face_crop.detect`, on purpose)."""
    p = argparse.ArgumentParser(
        prog="python -m face_crop",
        description="Detect, track and crop the main face of each video in a frame_extraction output folder. "
        "Writes CROPS/<video>/<frame:06d>.png, CROPS/crops.csv and CROPS/rejects.csv; resumes finished videos.",
    )
    p.add_argument("frames", help="frame_extraction output folder (with frames.csv)")
    p.add_argument("crops", help="output folder")
    p.add_argument("--min-faces", type=int, default=10, help="drop videos with fewer face crops (default 10)")
    p.add_argument("--margin", type=float, default=0.3, help="box margin per side, fraction of box size (0.3)")
    p.add_argument("--size", type=int, default=224, help="crop side in pixels (224)")
    p.add_argument("--batch", type=int, default=BATCH_SIZE, help=f"frames per MTCNN call ({BATCH_SIZE})")
    p.add_argument("--max-side", type=int, default=MAX_SIDE, help=f"detect on copies this long at most ({MAX_SIDE})")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="MTCNN device (cpu)")
    p.add_argument("--workers", type=int, default=1, help="threads reading frames and writing crops (1)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; 0 on success, 1 when no video gave crops, 2 on malformed input."""
    args = get_args_parser().parse_args(argv)
    setup_logging(args.verbose)
    from face_crop.detect import FaceDetector
    from face_crop.pipeline import run_crops

    try:
        if args.batch < 1 or args.max_side < 1 or args.workers < 0:
            raise InputError("--batch and --max-side must be >= 1, --workers >= 0")
        if args.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise InputError("--device cuda: CUDA is not available on this machine")
        detector = FaceDetector(device=args.device, max_side=args.max_side, batch_size=args.batch)
        summary = run_crops(args.frames, args.crops, detector, margin=args.margin, size=args.size,
                            min_faces=args.min_faces, workers=args.workers)
    except InputError as e:
        log.error("%s", e)
        return 2
    per_frame = 1000 * summary.seconds / summary.frames_processed if summary.frames_processed else 0.0
    log.info("%d videos cropped (%d resumed), %d rejected, %d crops; %.1f ms per processed frame",
             summary.ok, summary.resumed, summary.rejected, summary.crops, per_frame)
    if summary.ok == 0:
        log.error("no video gave at least %d face crops (see %s/rejects.csv)", args.min_faces, args.crops)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
