"""image-mirror: keep third-party container images mirrored into your own registry."""

__version__ = "0.1.0"
__all__ = ["__version__"]
