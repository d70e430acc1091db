"""The shapes dataset and the torchvision loaders' offline message."""

import numpy as np
import pytest
import torch

from resnet_core.data import (
    SHAPES_CLASSES,
    DatasetUnavailable,
    load_dataset,
    shape_image,
    shapes_split,
    to_input,
)
from resnet_core.images import IMAGENET_MEAN, IMAGENET_STD


def test_shapes_are_deterministic_per_seed():
    first = shapes_split(20, 24, seed=3)
    again = shapes_split(20, 24, seed=3)
    other = shapes_split(20, 24, seed=4)
    torch.testing.assert_close(first.images, again.images)
    assert not torch.equal(first.images, other.images)


def test_shapes_are_one_unlimited_stream_that_start_continues():
    whole = shapes_split(30, 16, seed=2)
    head, tail = shapes_split(12, 16, seed=2), shapes_split(18, 16, seed=2, start=12)
    torch.testing.assert_close(torch.cat([head.images, tail.images]), whole.images, rtol=0, atol=0)
    assert torch.equal(torch.cat([head.labels, tail.labels]), whole.labels)


def test_train_and_val_splits_differ_and_are_balanced():
    train, val = load_dataset("shapes", 16, 40, 20, seed=0)
    assert train.images.shape == (40, 3, 16, 16) and train.images.dtype == torch.uint8
    assert not torch.equal(train.images[:20], val.images)
    assert torch.bincount(train.labels).tolist() == [4] * len(SHAPES_CLASSES)


@pytest.mark.parametrize("size", [16, 57, 224])
def test_shape_image_renders_any_size_between_16_and_224(size):
    image = shape_image(3, size)
    assert image.size == (size, size) and image.mode == "RGB"


def test_image_size_outside_16_to_224_is_refused():
    with pytest.raises(ValueError, match="between 16 and 224"):
        shapes_split(2, 8)


def test_shape_image_is_the_matching_validation_sample():
    val = shapes_split(30, 32, seed=5, split="val")
    picture = np.array(shape_image(int(val.labels[23]), 32, seed=5, index=2))
    torch.testing.assert_close(torch.from_numpy(picture).permute(2, 0, 1), val.images[23])


def test_to_input_normalises_with_imagenet_mean_and_std():
    images = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(to_input(images), (images.float() / 255 - mean) / std)
    assert to_input(images, 32).shape == (2, 3, 32, 32)


@pytest.mark.parametrize("name", ["cifar10", "fashionmnist", "mnist"])
def test_missing_offline_dataset_says_so_and_where_to_put_it(tmp_path, name):
    with pytest.raises(DatasetUnavailable) as caught:
        load_dataset(name, 32, 100, 100, folder=tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert "cannot be downloaded" in message and str(tmp_path) not in message  # learners see it: no server path
    assert caught.value.folder.is_relative_to(tmp_path)  # where the files go, for the command line
