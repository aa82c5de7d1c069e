"""Face crops: MTCNN detection on downscaled frames, scene cuts, face tracking, and THE one crop function.

``crop``: box geometry and :func:`crop_face` (also used at inference); ``detect``: :class:`FaceDetector` and the
detector settings (one place); ``shots``: where a video cuts to another shot; ``track``: every face track, the main
face of each frame (:func:`main_faces`), which tracks are one person; ``pipeline``: :func:`crop_tracks` (THE
frames-to-crops step: every person of every shot) and :func:`crop_faces` (its main face) for one video, and the batch
work over a frames folder (:func:`run_crops`); ``cli``: ``python -m face_crop FRAMES CROPS``; ``mesh``: the 468-point
face mesh (the SBI masks' landmarks and the landmark stream's input) and the similarity that aligns point sets.
"""

from face_crop.crop import crop_face, expand_box, points_to_crop
from face_crop.detect import Face, FaceDetector
from face_crop.pipeline import FaceTrack, crop_faces, crop_tracks, read_frames_manifest, run_crops
from face_crop.track import box_iou, main_faces, select_main_track

__all__ = [
    "Face",
    "FaceDetector",
    "FaceTrack",
    "box_iou",
    "crop_face",
    "crop_faces",
    "crop_tracks",
    "expand_box",
    "main_faces",
    "points_to_crop",
    "read_frames_manifest",
    "run_crops",
    "select_main_track",
]
