"""ketamine-health-claims: articles + Label Studio labels → versioned Hugging Face dataset."""

from importlib import metadata

try:
    __version__ = metadata.version("ketamine-health-claims")
except metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"
