"""The demo on the sample videos: :mod:`~dfdetect.demo.samples` (``fetch-samples``), :mod:`~dfdetect.demo.data`
(``demo-data``), :mod:`~dfdetect.demo.grids` (``grid`` and the example frames) and :mod:`~dfdetect.demo.run`
(``demo``, ``make demo``)."""
