"""The six stages of the seed lesson's Data Flow, as data.

The tracer, the page, the CLI and the tests all loop over :data:`STAGES`; nothing branches on a
particular stage. ``selects`` names which modules of a ResNet a stage covers (see
``trace.SELECTORS``), so the same table fits the seed model and torchvision's ResNets.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BRANCHES", "KEY_INSIGHT", "SHORTCUTS", "STAGES", "Stage"]


@dataclass(frozen=True)
class Stage:
    """One row of the seed's Data Flow table."""

    number: int  # 1..6, as in the lesson
    key: str  # stable id: CLI JSON, widget keys, tests
    title: str  # the lesson's stage name
    does: str  # the lesson's "what it does" column
    shows: str  # the lesson's description of what comes out
    explain: str  # a plain-language paragraph; {branch} and {shortcut} are filled from the traced model
    selects: str  # which modules the stage covers: input, stem, first_block, other_blocks, pool, classifier
    view: str  # how its output is best shown: "maps" (feature maps), "vector" or "predictions"


STAGES: tuple[Stage, ...] = (
    Stage(
        1,
        "input",
        "Input Image",
        "Raw image pixels",
        "A color photo of a cat",
        "The photo is resized and centre-cropped to 224 × 224 pixels. Each pixel has 3 numbers (red, "
        "green, blue), shifted and scaled so that an average ImageNet photo would be 0 in each "
        "channel. To the network the picture is just this grid of 150,528 numbers.",
        "input",
        "maps",
    ),
    Stage(
        2,
        "stem",
        "Initial Convolution + Pooling",
        "Apply convolution filters and reduce size with max pooling",
        "Feature maps highlighting edges and textures",
        "64 small filters (7 × 7 pixels each) slide over the picture with a step of 2; each filter "
        "lights up where its pattern appears: an edge at some angle, a colour blob, a texture. "
        "BatchNorm rescales, ReLU keeps only positive responses, and 3 × 3 max pooling keeps the "
        "strongest response in each neighbourhood. The grid shrinks 4× per side (224 → 56) while the "
        "number of channels grows from 3 to 64.",
        "stem",
        "maps",
    ),
    Stage(
        3,
        "residual_block",
        "Residual Block with Skip Connection",
        "Two convolution layers + add input (skip connection)",
        "Feature maps combined with original input to preserve information",
        "In this model the block computes a correction F(x) with {branch}, then {shortcut}: "
        "out = ReLU(F(x) + x). The addition is the skip connection. If the best a block can do is "
        "change nothing, F(x) = 0 does it: out = ReLU(x) = x, since x is itself the output of a ReLU. "
        "Zero convolution weights are not enough for that, because the last BatchNorm adds its shift; "
        "its scale and shift must both go to zero. On the way back, the gradient reaches x through the "
        "+ directly, besides what comes through F; the ReLU after the addition passes it only where the "
        "sum is positive (pre-activation ResNets, He et al. 2016b, move that ReLU so the path is a clean "
        "identity). This is what lets very deep ResNets train.",
        "first_block",
        "maps",
    ),
    Stage(
        4,
        "stacked_blocks",
        "Stacked Residual Blocks",
        "Repeat residual blocks multiple times",
        "Deeper features with preserved original signals",
        "The same idea repeated: each block adds its correction on top of what came before. Where a "
        "block changes the number of channels (or halves the grid with a stride of 2), x and F(x) no "
        "longer have the same shape, so the shortcut applies a 1 × 1 convolution (a projection) to x "
        "before the addition. Deeper blocks respond to larger, more object-like patterns.",
        "other_blocks",
        "maps",
    ),
    Stage(
        5,
        "global_pool",
        "Global Average Pooling",
        "Average each feature map to single value",
        "Summary vector representing the image",
        "Each channel's whole map is averaged into one number: how strongly that feature appeared "
        "anywhere in the picture. Where it appeared no longer matters; the picture is now a "
        "vector with one entry per channel.",
        "pool",
        "vector",
    ),
    Stage(
        6,
        "classifier",
        "Fully Connected Layer",
        "Classify features into categories",
        "Probabilities for 1000 object categories",
        "A single linear layer weighs the summary vector into one score (logit) per category; "
        "softmax turns the scores into probabilities that add up to 1. The top five are shown.",
        "classifier",
        "predictions",
    ),
)

# How a traced block's residual branch and shortcut read in a sentence, by BlockTrace.kind and .shortcut.
BRANCHES = {
    "BasicBlock": "two 3 × 3 convolutions (each followed by BatchNorm, the first also by a ReLU)",
    "Bottleneck": (
        "a bottleneck: a 1 × 1 convolution that narrows the channels, a 3 × 3 convolution and a 1 × 1 "
        "convolution that widens them again, each followed by BatchNorm"
    ),
}
SHORTCUTS = {
    "identity": "adds its own input x back unchanged (an identity shortcut, no parameters)",
    "projection": (
        "adds its input after a 1 × 1 convolution and BatchNorm give it the output's shape (a projection "
        "shortcut, He et al. option B)"
    ),
    "none": "does not add its input (a plain block, no skip connection)",
}

KEY_INSIGHT = (
    "Skip connections in ResNet help the model learn deeper layers without losing earlier "
    "information. This improves training by allowing gradients to flow better, leading to faster "
    "convergence and higher accuracy."
)
