"""What the model is given, shared by training (:mod:`dfdetect.data`) and scoring (:mod:`dfdetect.inference`).

:mod:`~dfdetect.clips.windows` (which crops form a clip), :mod:`~dfdetect.clips.transforms` (THE eval-time transform
and the test-time views) and :mod:`~dfdetect.clips.audio` (a file's sound and a clip's log-mel). Nothing here knows
of training data sets or fake generators, so scoring loads none of them.
"""
