"""Pictures of what the model sees: PNG grids of clips, exactly the tensors the model receives (de-normalised).

One row per clip, one column per timestep, the video and its label (real / fake, "+ synth" for an on-the-fly
self-blended fake) in the row title. :func:`training_clips` gives the clips of the training plan from an epoch on
(same balancing, windows, blending and augmentation seeds as ``train.py`` with the same config and seed). The CLI is
``python -m dfdetect grid`` (:mod:`dfdetect.demo.grids`); ``train.py --show-augmentations N`` draws them too.

Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "grid.png"
    >>> save_clip_grid([np.zeros((4, 16, 16, 3), np.uint8)] * 2, ["a.mp4: real", "b.mp4: fake"], path)
    >>> from dfdetect.core.io import load_image
    >>> load_image(path).shape == (round(2 * (CELL_INCHES + TITLE_INCHES) * DPI), round(4 * CELL_INCHES * DPI), 3)
    True
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dfdetect.clips.transforms import from_tensor_clip
from dfdetect.core.config import Config
from dfdetect.core.io import write_bytes_atomic
from dfdetect.data.dataset import ClipDataset, ClipSpec, epoch_plan
from dfdetect.data.manifests import VideoCrops

CELL_INCHES = 1.3  # one image
TITLE_INCHES = 0.25  # room above each row for the column titles
DPI = 100


def save_clip_grid(clips: Sequence[np.ndarray], titles: Sequence[str], path: str | Path) -> None:
    """Write clips as a PNG grid (one row per clip, one column per timestep), atomically.

    Args:
        clips: N uint8 arrays (T, H, W, 3), the same T for all.
        titles: N row titles.
        path: output PNG, ``N * (CELL_INCHES + TITLE_INCHES) * DPI`` by ``T * CELL_INCHES * DPI`` pixels.

    Raises:
        ValueError: no clips, a title count that differs, or clips of different lengths.
    """
    # matplotlib takes ~0.4 s to import and only the pictures need it; inference imports this package too.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not clips:
        raise ValueError("no clips to draw")
    if len(titles) != len(clips):
        raise ValueError(f"{len(clips)} clips but {len(titles)} titles")
    n, t = len(clips), len(clips[0])
    # The pyplot-free API: no global figure state, no GUI backend, safe in loader workers and tests.
    fig = Figure(figsize=(t * CELL_INCHES, n * (CELL_INCHES + TITLE_INCHES)), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(n, t, squeeze=False)  # (n, t) axes
    for r, (clip, title) in enumerate(zip(clips, titles)):
        if len(clip) != t:
            raise ValueError(f"clip {r} has {len(clip)} timesteps, expected {t}")
        for c in range(t):
            ax = axes[r, c]
            ax.imshow(clip[c])  # (H, W, 3)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t={c}", fontsize=8)
        axes[r, 0].set_ylabel(title, fontsize=7, rotation=0, ha="right", va="center", labelpad=4)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_bytes_atomic(path, buf.getvalue())


def clip_title(ds: ClipDataset, index: int) -> str:
    """``"<video>\\n<real|fake>[ + <generator>]"`` for a dataset item (the generator of an on-the-fly fake).

    Example:
        >>> v = VideoCrops("a.mp4", 0, [0], [Path("x.png")], np.zeros((1, 4)), np.zeros((1, 5, 2)))
        >>> ds = ClipDataset([v], [ClipSpec(0, (0,)), ClipSpec(0, (0,), synth=True)], 16, (0.5,) * 3, (0.5,) * 3)
        >>> clip_title(ds, 0), clip_title(ds, 1)
        ('a.mp4\\nreal', 'a.mp4\\nfake + sbi')
    """
    spec = ds.specs[index]
    video = ds.videos[spec.video]
    label = f"fake + {spec.method}" if spec.synth else ("fake" if video.label == 1 else "real")
    return f"{video.video}\n{label}"


def render_clips(ds: ClipDataset, indices: Iterable[int], path: str | Path) -> int:
    """Draw dataset items exactly as the model receives them (``ds[i]["clip"]`` de-normalised).

    Args:
        ds: the dataset (its mean/std undo the normalisation).
        indices: the items to draw, one row each.
        path: output PNG (:func:`save_clip_grid`).

    Returns:
        The number of rows drawn.

    Example:
        >>> import tempfile
        >>> from dfdetect.core.io import save_image
        >>> root = Path(tempfile.mkdtemp())
        >>> save_image(root / "0.png", np.full((16, 16, 3), 90, np.uint8))
        >>> v = VideoCrops("a.mp4", 1, [0], [root / "0.png"], np.zeros((1, 4)), np.zeros((1, 5, 2)))
        >>> ds = ClipDataset([v], [ClipSpec(0, (0, 0))] * 3, 16, (0.5,) * 3, (0.5,) * 3)
        >>> render_clips(ds, range(3), root / "grid.png")
        3
    """
    clips, titles = [], []
    for i in indices:
        item = ds[i]
        clips.append(from_tensor_clip(item["clip"], ds.mean, ds.std))  # (T, C, H, W) float -> (T, H, W, 3) uint8
        titles.append(clip_title(ds, i))
    save_clip_grid(clips, titles, path)
    return len(clips)


def training_clips(videos: Sequence[VideoCrops], cfg: Config, n: int, first_epoch: int = 0) -> list[ClipSpec]:
    """The first ``n`` training clips from epoch ``first_epoch`` on (later epochs' plans when one epoch has fewer).

    Args:
        videos: the labelled training videos, as ``train.py`` gets them.
        cfg: the run's config (``data.frames``, ``data.balance``, ``train.seed``, ``train.synth_fakes``).
        n: clips wanted.
        first_epoch: the epoch to start from (0 = the first).

    Returns:
        Up to ``n`` specs (none without videos).

    Example:
        >>> v = VideoCrops("a.mp4", 0, list(range(6)), [Path("x.png")] * 6, np.zeros((6, 4)), np.zeros((6, 5, 2)))
        >>> cfg = Config()
        >>> cfg.data.frames = 4
        >>> [len(s.window) for s in training_clips([v], cfg, 3)]
        [4, 4, 4]
    """
    specs: list[ClipSpec] = []
    epoch = first_epoch
    while len(specs) < n and videos:
        plan, _ = epoch_plan(
            videos, epoch, cfg.train.seed, cfg.data.frames, cfg.data.balance, cfg.train.synth_fakes,
            cfg.train.synth_methods,
        )
        specs.extend(plan)
        epoch += 1
    return specs[:n]
