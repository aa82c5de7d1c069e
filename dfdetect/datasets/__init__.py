"""The field's data sets as they come: FaceForensics++, Celeb-DF, DFDC, the Inclusion challenge, real/fake folders.

Modules, lowest first: :mod:`~dfdetect.datasets.base` (a data set as a list of videos, splits by identity group, the
outputs), one module per data set (:mod:`~dfdetect.datasets.ffpp`, :mod:`~dfdetect.datasets.celebdf`,
:mod:`~dfdetect.datasets.dfdc`, :mod:`~dfdetect.datasets.inclusion`, :mod:`~dfdetect.datasets.folder`: each a
``scan(root, options) -> Scan`` that only reads), :mod:`~dfdetect.datasets.registry` (THE list of adapters and
:func:`build_dataset`) and :mod:`~dfdetect.datasets.cli` (``python -m dfdetect dataset NAME ROOT --out DIR``).
"""

from dfdetect.datasets.base import Options, Scan, Video, assign_splits, select, split_groups, write_dataset
from dfdetect.datasets.registry import ADAPTERS, Adapter, build_dataset

__all__ = ["ADAPTERS", "Adapter", "Options", "Scan", "Video", "assign_splits", "build_dataset", "select",
           "split_groups", "write_dataset"]
