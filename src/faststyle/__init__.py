"""faststyle: fast feed-forward neural style transfer (Johnson et al. 2016).

Importing the package imports nothing heavy: `faststyle.runtime` runs exported models
with numpy + onnxruntime only; training and export live in modules that need torch.
"""

__version__ = "0.1.0"
