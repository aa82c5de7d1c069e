"""Face crops: MTCNN detection on downscaled frames, main-face tracking, and THE one crop function.

``crop``: box geometry and :func:`crop_face` (also used at inference); ``detect``: :class:`FaceDetector` and the
detector settings (one place); ``pipeline``: :func:`crop_faces` for one video and the batch CLI's work
(``python -m face_crop FRAMES CROPS``).
"""

from face_crop.crop import crop_face, expand_box, points_to_crop
from face_crop.detect import Face, FaceDetector, select_main_track
from face_crop.pipeline import crop_faces

__all__ = ["Face", "FaceDetector", "crop_face", "crop_faces", "expand_box", "points_to_crop", "select_main_track"]
