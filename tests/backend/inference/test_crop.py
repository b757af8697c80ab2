"""Crops as the reference cuts them, and the crop camera re-expressed as one full-image camera."""
from __future__ import annotations

import numpy as np
import torch

from propose_backend.inference.crop import CropBox, ImageCamera, cut, image_translation, normalize
from propose_backend.skeleton import FOCAL_LENGTH_PX, IMAGENET_MEAN, IMAGENET_STD


def test_box_is_square_enlarged_and_centred() -> None:
    box = CropBox.around(100, 50, 40, 200)
    assert (box.cx, box.cy, box.side) == (120, 150, 250)
    assert box.xywh() == (-5, 25, 250, 250)


def test_cut_puts_the_box_centre_at_the_crop_centre_in_rgb() -> None:
    image = np.zeros((300, 400, 3), np.uint8)
    image[148:153, 218:223] = (255, 0, 0)  # a blue dot (BGR) centred on (220, 150)
    crop = cut(image, CropBox(220, 150, 128))  # twice magnified
    assert crop.shape == (256, 256, 3)
    ys, xs = np.nonzero(crop[:, :, 2] > 128)  # blue is the last channel in RGB
    assert abs(xs.mean() - 128) < 1 and abs(ys.mean() - 128) < 1
    assert crop[:, :, 0].max() == 0


def test_normalize_applies_imagenet_statistics() -> None:
    crops = torch.full((2, 256, 256, 3), 255, dtype=torch.uint8)
    images = normalize(crops)
    assert images.shape == (2, 3, 256, 256)
    expected = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    torch.testing.assert_close(images[0, :, 10, 10], expected)


def test_full_image_translation_keeps_the_pelvis_where_the_network_put_it() -> None:
    camera = ImageCamera.for_image(1920, 1080)
    assert camera.focal_px == np.hypot(1920, 1080) and camera.principal_pt == (960, 540)
    boxes = np.array([[300.0, 700.0, 512.0], [1500.0, 200.0, 256.0]])
    crop_t = np.array([[0.1, -0.05, 8.0], [-0.2, 0.3, 6.0]])
    transl = image_translation(crop_t, boxes, camera)
    # where the network's crop camera (f = 1000 px on 256 px) projects the pelvis, mapped to the image
    crop_px = FOCAL_LENGTH_PX * crop_t[:, :2] / crop_t[:, 2:] + 128
    expected = boxes[:, :2] + (crop_px - 128) * boxes[:, 2:] / 256
    np.testing.assert_allclose(camera.project(transl), expected, atol=1e-6)
    # depth: a crop twice as large means the person is twice as close (same crop translation)
    near = image_translation(crop_t[:1], np.array([[300.0, 700.0, 1024.0]]), camera)
    np.testing.assert_allclose(near[0, 2] * 2, transl[0, 2])
    # and the person's size on screen is what the crop camera showed: scale = focal / depth
    f_crop = FOCAL_LENGTH_PX * boxes[:, 2] / 256
    np.testing.assert_allclose(camera.focal_px / transl[:, 2], f_crop / crop_t[:, 2])
