"""MTCNN's three stages on a batch of uint8 frames with every area resampling (P-Net's image pyramid, the candidate
crops of R-Net and O-Net) done by one vectorised step from integral images: facenet-pytorch's ``detect_face`` with
its resampling replaced, the same boxes, probabilities and landmarks bit for bit, MTCNN about 35 % faster on 2 cores.

Why: facenet-pytorch resamples with ``interpolate(mode="area")``, ATen's adaptive average pooling: each pyramid level
of the batch in one slow call and each candidate box on its own (0.05 to 1 ms a call; 102,000 calls and 20 of the 56 s
of face detection in the demo's data set build). Area resampling is a mean over bins of whole pixels; on uint8 pixels
each bin's sum is an integer, which an integral image (``cv2.integral``) gives exactly, so
:func:`area_resample_boxes` divides the same integers by the same bin sizes, in the same order (``sum / kh / kw``,
float32), as ATen does, and returns the same floats.

Source: Zhang et al., "Joint Face Detection and Alignment using Multi-task Cascaded Convolutional Networks" (IEEE
SPL 2016); the code follows facenet-pytorch 2.6 (``models/utils/detect_face.py``, MIT License, Copyright (c) 2019
Timothy Esler), whose networks, weights and helper functions it uses unchanged.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch


def _bins(n_in: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive pooling's bins of ``n_in`` pixels into ``size`` outputs (ATen: start ``floor(i * n / size)``, end
    ``ceil((i + 1) * n / size)``): ``(start, end)``, each (K, size) int64, for K lengths ``n_in``."""
    n = np.asarray(n_in, np.int64)[..., None]  # (K, 1)
    i = np.arange(size, dtype=np.int64)
    return (i * n) // size, -((-(i + 1) * n) // size)


def _corner(sums: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``sums`` ((H + 1) * (W + 1), 3) at the flat offsets ``rows + cols`` (broadcast): (n, 3)."""
    return np.take(sums, (rows + cols).ravel(), axis=0)


def area_resample_boxes(frames: np.ndarray, image_inds: np.ndarray, y: np.ndarray, ey: np.ndarray, x: np.ndarray,
                        ex: np.ndarray, size: int | tuple[int, int],
                        sums: dict[int, np.ndarray] | None = None) -> torch.Tensor:
    """The region rows ``y - 1 .. ey - 1``, columns ``x - 1 .. ex - 1`` (facenet's 1-based box ends) of frame
    ``image_inds[k]`` for each k, area-resampled to ``size``: equal, bit for bit, to
    ``torch.cat([interpolate(frame_k[None, :, y-1:ey, x-1:ex].float(), size, mode="area") ...])``.

    Args:
        frames: (B, H, W, 3) uint8 frames.
        image_inds, y, ey, x, ex: (K,) integer arrays (``pad``'s output; every region non-empty).
        size: the output side (24 for R-Net, 48 for O-Net), or ``(height, width)`` (a level of P-Net's pyramid).
        sums: integral images per frame index, filled and reused between calls on the same frames.

    Returns:
        (K, 3, height, width) float32, channels-last strides (as facenet's area interpolation of its channels-last
        frames gives them).

    Example:
        >>> from torch.nn.functional import interpolate
        >>> frames = np.random.default_rng(0).integers(0, 256, (1, 40, 50, 3), dtype=np.uint8)
        >>> box = [np.array([v]) for v in (0, 5, 37, 8, 45)]  # image, y, ey, x, ex
        >>> ours = area_resample_boxes(frames, *box, size=24)
        >>> torch.equal(ours, interpolate(torch.from_numpy(frames).permute(0, 3, 1, 2)[:1, :, 4:37, 7:45].float(),
        ...                               size=(24, 24), mode="area"))
        True
    """
    sums = {} if sums is None else sums
    _, h, w, _ = frames.shape
    # int32 holds every sum of a frame up to 2^31 / 255 pixels (8.4 megapixels); beyond, float64 (exact to 2^53)
    exact_int32 = 255 * h * w < 2**31
    oh, ow = (size, size) if isinstance(size, int) else size
    out = np.empty((len(y), oh, ow, 3), np.float32)
    r0, r1 = _bins(ey - y + 1, oh)  # (K, oh) rows relative to the region
    c0, c1 = _bins(ex - x + 1, ow)  # (K, ow)
    kh, kw = (r1 - r0).astype(np.float32), (c1 - c0).astype(np.float32)
    r0, r1, c0, c1 = r0 + (y - 1)[:, None], r1 + (y - 1)[:, None], c0 + (x - 1)[:, None], c1 + (x - 1)[:, None]
    for b in np.unique(image_inds):
        if int(b) not in sums:
            sums[int(b)] = cv2.integral(np.ascontiguousarray(frames[b]), sdepth=cv2.CV_32S if exact_int32
                                        else cv2.CV_64F)  # (H + 1, W + 1, 3): [r, c] = sum of rows < r, columns < c
        s, k = sums[int(b)].reshape(-1, 3), np.flatnonzero(image_inds == b)  # ((H + 1) * (W + 1), 3)
        a0, a1 = r0[k][:, :, None] * (w + 1), r1[k][:, :, None] * (w + 1)  # (k, oh, 1) flat row offsets
        b0, b1 = c0[k][:, None, :], c1[k][:, None, :]  # (k, 1, ow)
        total = (_corner(s, a1, b1) - _corner(s, a0, b1) - _corner(s, a1, b0) + _corner(s, a0, b0)).reshape(
            len(k), oh, ow, 3)  # exact integer bin sums
        # ATen's order: the float sum divided by the bin's height, then by its width
        out[k] = total.astype(np.float32) / kh[k][:, :, None, None] / kw[k][:, None, :, None]
    return torch.from_numpy(out).permute(0, 3, 1, 2)  # (K, 3, oh, ow), channels-last strides


def detect_face(frames: np.ndarray, minsize: int, pnet: Any, rnet: Any, onet: Any, threshold: list[float],
                factor: float, device: Any) -> tuple[np.ndarray, np.ndarray]:
    """facenet-pytorch's ``detect_face`` for a batch of uint8 frames, the pyramid and the candidate crops resampled
    by :func:`area_resample_boxes`: the same ``(batch_boxes, batch_points)`` (per frame, (N, 5) boxes with probability
    and (N, 5, 2) landmarks, as object arrays).

    Args:
        frames: (B, H, W, 3) uint8 RGB frames of one size.
        minsize, pnet, rnet, onet, threshold, factor, device: as ``facenet_pytorch.MTCNN`` holds them (float32
            networks: the resampling is float32, as facenet-pytorch's is for them).
    """
    # facenet-pytorch installs only with --no-deps: imported where a detector runs (face_crop.detect says what to do)
    from facenet_pytorch.models.utils.detect_face import (
        batched_nms,
        batched_nms_numpy,
        bbreg,
        fixed_batch_process,
        generateBoundingBox,
        pad,
        rerec,
    )

    model_dtype = next(pnet.parameters()).dtype
    batch_size, h, w = frames.shape[:3]
    m = 12.0 / minsize
    minl = min(h, w)
    minl = minl * m

    # the scale pyramid
    scale_i = m
    scales = []
    while minl >= 12:
        scales.append(scale_i)
        scale_i = scale_i * factor
        minl = minl * factor

    # first stage: P-Net over the pyramid
    boxes = []
    image_inds = []
    scale_picks = []
    offset = 0
    sums: dict[int, np.ndarray] = {}  # integral images, shared by the pyramid and the second and third stages
    one = np.ones(batch_size, np.int64)
    whole = [np.arange(batch_size), one, one * int(h), one, one * int(w)]  # every frame whole: image, y, ey, x, ex
    for scale in scales:
        im_data = area_resample_boxes(frames, *whole, (int(h * scale + 1), int(w * scale + 1)), sums)
        im_data = im_data.to(device=device, dtype=model_dtype)
        im_data = (im_data - 127.5) * 0.0078125
        reg, probs = pnet(im_data)
        boxes_scale, image_inds_scale = generateBoundingBox(reg, probs[:, 1], scale, threshold[0])
        boxes.append(boxes_scale)
        image_inds.append(image_inds_scale)
        pick = batched_nms(boxes_scale[:, :4], boxes_scale[:, 4], image_inds_scale, 0.5)
        scale_picks.append(pick + offset)
        offset += boxes_scale.shape[0]

    boxes = torch.cat(boxes, dim=0)
    image_inds = torch.cat(image_inds, dim=0)
    scale_picks = torch.cat(scale_picks, dim=0)
    boxes, image_inds = boxes[scale_picks], image_inds[scale_picks]  # NMS within each scale and image
    pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)  # NMS within each image
    boxes, image_inds = boxes[pick], image_inds[pick]

    regw = boxes[:, 2] - boxes[:, 0]
    regh = boxes[:, 3] - boxes[:, 1]
    qq1 = boxes[:, 0] + boxes[:, 5] * regw
    qq2 = boxes[:, 1] + boxes[:, 6] * regh
    qq3 = boxes[:, 2] + boxes[:, 7] * regw
    qq4 = boxes[:, 3] + boxes[:, 8] * regh
    boxes = torch.stack([qq1, qq2, qq3, qq4, boxes[:, 4]]).permute(1, 0)
    boxes = rerec(boxes)

    # second stage: R-Net on 24x24 crops
    if len(boxes) > 0:
        y, ey, x, ex = pad(boxes, w, h)
        ok = (ey > y - 1) & (ex > x - 1)  # facenet keeps only non-empty regions
        inds = image_inds.cpu().numpy()
        im_data = area_resample_boxes(frames, inds[ok], y[ok], ey[ok], x[ok], ex[ok], 24, sums)
        im_data = im_data.to(device=device, dtype=model_dtype)
        im_data = (im_data - 127.5) * 0.0078125
        out = fixed_batch_process(im_data, rnet)  # rnet(im_data) in batches of 512

        out0 = out[0].permute(1, 0)
        out1 = out[1].permute(1, 0)
        score = out1[1, :]
        ipass = score > threshold[1]
        boxes = torch.cat((boxes[ipass, :4], score[ipass].unsqueeze(1)), dim=1)
        image_inds = image_inds[ipass]
        mv = out0[:, ipass].permute(1, 0)
        pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)  # NMS within each image
        boxes, image_inds, mv = boxes[pick], image_inds[pick], mv[pick]
        boxes = bbreg(boxes, mv)
        boxes = rerec(boxes)

    # third stage: O-Net on 48x48 crops, with the landmarks
    points = torch.zeros(0, 5, 2, device=device)
    if len(boxes) > 0:
        y, ey, x, ex = pad(boxes, w, h)
        ok = (ey > y - 1) & (ex > x - 1)
        inds = image_inds.cpu().numpy()
        im_data = area_resample_boxes(frames, inds[ok], y[ok], ey[ok], x[ok], ex[ok], 48, sums)
        im_data = im_data.to(device=device, dtype=model_dtype)
        im_data = (im_data - 127.5) * 0.0078125
        out = fixed_batch_process(im_data, onet)

        out0 = out[0].permute(1, 0)
        out1 = out[1].permute(1, 0)
        out2 = out[2].permute(1, 0)
        score = out2[1, :]
        points = out1
        ipass = score > threshold[2]
        points = points[:, ipass]
        boxes = torch.cat((boxes[ipass, :4], score[ipass].unsqueeze(1)), dim=1)
        image_inds = image_inds[ipass]
        mv = out0[:, ipass].permute(1, 0)

        w_i = boxes[:, 2] - boxes[:, 0] + 1
        h_i = boxes[:, 3] - boxes[:, 1] + 1
        points_x = w_i.repeat(5, 1) * points[:5, :] + boxes[:, 0].repeat(5, 1) - 1
        points_y = h_i.repeat(5, 1) * points[5:10, :] + boxes[:, 1].repeat(5, 1) - 1
        points = torch.stack((points_x, points_y)).permute(2, 1, 0)
        boxes = bbreg(boxes, mv)
        pick = batched_nms_numpy(boxes[:, :4], boxes[:, 4], image_inds, 0.7, "Min")  # NMS within each image, "Min"
        boxes, image_inds, points = boxes[pick], image_inds[pick], points[pick]

    boxes = boxes.cpu().numpy()
    points = points.cpu().numpy()
    image_inds = image_inds.cpu()
    batch_boxes = []
    batch_points = []
    for b_i in range(batch_size):
        b_i_inds = np.where(image_inds == b_i)
        batch_boxes.append(boxes[b_i_inds].copy())
        batch_points.append(points[b_i_inds].copy())
    return np.array(batch_boxes, dtype=object), np.array(batch_points, dtype=object)


def mtcnn_detect(mtcnn: Any, frames: np.ndarray) -> tuple[list[Any], list[Any], list[Any]]:
    """``mtcnn.detect(frames, landmarks=True)`` of a ``keep_all`` MTCNN, through :func:`detect_face`: per frame its
    (N, 4) boxes, (N,) probabilities and (N, 5, 2) landmarks, or ``None`` (boxes, landmarks) and ``[None]``
    (probabilities) where no face was found, as facenet-pytorch returns them.

    Args:
        mtcnn: a ``facenet_pytorch.MTCNN`` (its networks and settings).
        frames: (B, H, W, 3) uint8 RGB frames of one size.
    """
    with torch.no_grad():
        batch_boxes, batch_points = detect_face(frames, mtcnn.min_face_size, mtcnn.pnet, mtcnn.rnet, mtcnn.onet,
                                                mtcnn.thresholds, mtcnn.factor, mtcnn.device)
    boxes, probs, points = [], [], []
    for box, point in zip(batch_boxes, batch_points):
        box, point = np.array(box), np.array(point)
        if len(box) == 0:
            boxes.append(None)
            probs.append([None])
            points.append(None)
        else:
            boxes.append(box[:, :4])
            probs.append(box[:, 4])
            points.append(point)
    return boxes, probs, points
