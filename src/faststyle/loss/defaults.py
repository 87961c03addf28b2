"""The objective's layers and default weights, in a module without torch so that reading
them (train.py --help, config files) is instant."""

STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
MIN_VGG_SIDE = 16  # VGG halves an image three times before relu4_3: 16 px leave 2
CONTENT_LAYER = "relu2_2"
# The one home of the default weights: training, `faststyle optimize` and `faststyle evaluate`
# all read them from here, so a preview and a trained model optimise the same objective.
DEFAULT_CONTENT_WEIGHT = 1.0
# Chosen by training Starry Night on the CPU recipe: at 10 the city dissolved into strokes
# (relative content error stayed > 1); at 5 it stays readable. TV 1.0 removes the fine
# high-frequency hatching the net otherwise produces early in training.
DEFAULT_STYLE_WEIGHT = 5.0
DEFAULT_TV_WEIGHT = 1.0
# Longer side of the style image when its statistics are taken: the stroke scale
# (faststyle.style_record). pytorch/examples' released candy and mosaic, which look right at 512
# and 1024 px, copy their paintings' strokes at 504 and 470 px (bench/anchors.py); at 256 ours
# were half their size at every output size.
DEFAULT_STYLE_SIZE = 512
STYLE_LOSSES = ("gram", "meanstd")  # Gram matrices, or per-channel mean and standard deviation
DEFAULT_STYLE_LOSS = "gram"
# How much each style layer's relative error counts (STYLE_LAYERS order). Equal, each layer's
# error relative to its own target, lets relu4_3 dominate: its relative error stays 3-10x the
# others', so the net satisfies it by stamping the painting's object-sized motifs (candy's rings)
# all over the photo.
DEFAULT_STYLE_LAYER_WEIGHTS = (1.0, 1.0, 1.0, 1.0)
# mean+std: the variance floor is this fraction of the layer's mean square, not an absolute
# number, so it scales with the activations and the loss stays invariant to VGG's scale.
