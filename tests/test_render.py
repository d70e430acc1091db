"""Activations to pictures, checked on values: colours, tile positions, the un-normalised input, the skip panels."""

import numpy as np
import plotly.colors
import pytest
import torch
from torchvision.models import ResNet18_Weights

from pages.parts.trace_views import skip_figure
from resnet_core.models import seed_resnet
from resnet_core.render import colorize, feature_grid, input_picture, most_active, residual_panels
from resnet_core.trace import Tracer

VIRIDIS_LOW, VIRIDIS_HIGH = (68, 1, 84), (253, 231, 37)  # matplotlib's viridis at 0 and at 1
IMAGENET = ResNet18_Weights.IMAGENET1K_V1.transforms()  # torchvision's normalisation: the reference


def test_colorize_maps_the_minimum_to_viridis_low_and_the_maximum_to_viridis_high():
    values = np.array([[3.0, -1.0], [7.0, 3.0]])
    rgb = colorize(values)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 1]) == VIRIDIS_LOW
    assert tuple(rgb[1, 0]) == VIRIDIS_HIGH
    # Each map on its own scale: shifting and stretching the values changes no colour.
    np.testing.assert_array_equal(colorize(values * 10 + 5), rgb)


@pytest.mark.filterwarnings("error")  # no division by zero on the way
def test_colorize_of_a_flat_map_is_all_viridis_low():
    rgb = colorize(np.full((3, 4), 2.5))
    assert (rgb == VIRIDIS_LOW).all()


def test_colorize_puts_the_middle_value_half_way_along_viridis():
    # 3 is half-way between -1 and 7: index floor(0.5 x 255) = 127 of the 256-entry table, which sits at
    # 127 / 255 x 4 = 1.992 of the five stops, so 0.992 of the way from (59, 82, 139) to (33, 145, 140):
    # (59 - 0.992 x 26, 82 + 0.992 x 63, 139 + 0.992) = (33.2, 144.5, 139.99), truncated to (33, 144, 139).
    rgb = colorize(np.array([[-1.0, 3.0, 7.0]]))
    assert tuple(rgb[0, 1]) == (33, 144, 139)


def test_colorize_follows_viridis_as_plotly_draws_it():
    # The reference: plotly's ten-stop Viridis, linearly interpolated; ours has five stops, so a few levels apart.
    ramp = np.linspace(0, 1, 256)
    stops = np.array([plotly.colors.hex_to_rgb(c) for c in plotly.colors.sequential.Viridis], dtype=float)
    positions = np.linspace(0, 1, len(stops))
    reference = np.stack([np.interp(ramp, positions, stops[:, c]) for c in range(3)], axis=1)
    ours = colorize(ramp[None, :])[0].astype(float)
    difference = np.abs(ours - reference)
    assert difference.mean() < 6 and difference.max() < 24
    assert (np.diff(ours[:, 1]) >= 0).all()  # green rises all the way from purple to yellow


def test_most_active_orders_channels_by_mean_activation_like_torch_topk():
    torch.manual_seed(0)
    activation = torch.randn(10, 4, 4) + torch.arange(10.0).flip(0).roll(3).view(10, 1, 1)
    expected = torch.topk(activation.mean(dim=(1, 2)), 4).indices.tolist()
    assert most_active(activation, 4) == tuple(expected)
    assert most_active(activation, 50) == tuple(torch.argsort(activation.mean(dim=(1, 2)), descending=True).tolist())


def test_feature_grid_places_each_channel_in_its_tile_on_its_own_scale():
    # Four 2 x 2 channels with means 1, 4, 2, 3: the three most active are 1, 3, 2 (row-major tiles).
    maps = torch.tensor([[[0.0, 1.0], [1.0, 2.0]], [[3.0, 4.0], [5.0, 4.0]], [[2.0, 2.0], [1.0, 3.0]],
                         [[3.0, 1.0], [4.0, 4.0]]])
    grid = feature_grid(maps, count=3, columns=2, gap=1, min_cell=4)
    assert grid.channels == (1, 3, 2)
    # Each 2 x 2 map is enlarged by 2 to reach min_cell 4: 2 rows and 2 columns of 4 x 4 tiles, 1 pixel apart.
    assert grid.image.shape == (9, 9, 3) and grid.image.dtype == np.uint8
    for slot, channel in enumerate(grid.channels):
        top, left = (slot // 2) * 5, (slot % 2) * 5
        enlarged = maps[channel].numpy().repeat(2, axis=0).repeat(2, axis=1)
        np.testing.assert_array_equal(grid.image[top : top + 4, left : left + 4], colorize(enlarged))
    assert (grid.image[4, :] == 255).all() and (grid.image[:, 4] == 255).all()  # the gaps are white
    assert (grid.image[5:, 5:] == 255).all()  # the fourth slot stays empty


def test_feature_grid_defaults_are_sixteen_channels_in_rows_of_eight():
    torch.manual_seed(0)
    grid = feature_grid(torch.rand(20, 12, 12))  # ceil(48 / 12) = 4: tiles of 48 pixels, 2 pixels apart
    assert len(grid.channels) == 16
    assert grid.image.shape == (2 * 48 + 2, 8 * 48 + 7 * 2, 3)


def test_feature_grid_enlarges_a_map_by_its_height():
    grid = feature_grid(torch.rand(1, 6, 12), count=1, columns=1)  # ceil(48 / 6) = 8
    assert grid.image.shape == (48, 96, 3)


def test_feature_grid_enlarges_small_maps_to_at_least_min_cell_pixels():
    torch.manual_seed(0)
    seven = feature_grid(torch.rand(4, 7, 7), count=4, columns=4, gap=2)  # ceil(48 / 7) = 7: 49 pixels a side
    assert seven.image.shape == (49, 4 * 49 + 3 * 2, 3)
    large = feature_grid(torch.rand(2, 56, 56), count=2, columns=1, gap=3)  # already over 48: unchanged
    assert large.image.shape == (2 * 56 + 3, 56, 3)


def _normalised(pixels: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> the (3, H, W) model input, with torchvision's ImageNet mean and std."""
    x = torch.from_numpy(pixels).permute(2, 0, 1).float() / 255
    return (x - torch.tensor(IMAGENET.mean).view(3, 1, 1)) / torch.tensor(IMAGENET.std).view(3, 1, 1)


def test_input_picture_undoes_the_imagenet_normalisation():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)  # not square: height and width stay apart
    picture = input_picture(_normalised(pixels))
    assert picture.dtype == np.uint8
    np.testing.assert_array_equal(picture, pixels)


def test_input_picture_clips_values_outside_the_picture_range():
    x = _normalised(np.full((2, 2, 3), 128, np.uint8))
    x[:, 0, 0] = 100.0
    x[:, 1, 1] = -100.0
    picture = input_picture(x)
    assert (picture[0, 0] == 255).all() and (picture[1, 1] == 0).all() and (picture[0, 1] == 128).all()


def test_residual_panels_are_x_fx_and_the_output_of_the_chosen_channel():
    x, fx, out = (torch.arange(24.0).view(2, 3, 4) + offset for offset in (100, 200, 300))
    panels = residual_panels(x, fx, out, channel=1)
    assert list(panels) == ["x (shortcut)", "F(x) (residual branch)", "ReLU(F(x) + x)"]
    for values, source in zip(panels.values(), (x, fx, out), strict=True):
        np.testing.assert_array_equal(values, source[1].numpy())


def test_the_pages_skip_figure_draws_x_fx_and_the_output_on_one_symmetric_scale():
    torch.manual_seed(0)
    trace = Tracer(seed_resnet().eval(), [])(torch.randn(1, 3, 64, 64))
    block = trace.stage("stacked_blocks").blocks[0]  # layer1.1: the bottleneck with the 1x1 projection
    channel = int(torch.argmin(block.fx.amin(dim=(1, 2))))  # F(x) goes negative there: ReLU changes it
    figure = skip_figure(block, channel)
    drawn = [np.asarray(heatmap.z) for heatmap in figure.data]
    for values, source in zip(drawn, (block.x, block.fx, block.out), strict=True):
        np.testing.assert_array_equal(values, source[channel].numpy())
    limit = max(float(np.abs(v).max()) for v in drawn)
    assert all((heatmap.zmin, heatmap.zmax) == (-limit, limit) for heatmap in figure.data)
    titles = [a.text for a in figure.layout.annotations]
    assert titles == ["x (1×1 projection shortcut, stride 1)", "F(x): residual branch", "ReLU(F(x) + x): block output"]
