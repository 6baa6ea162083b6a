"""ketamine-health-claims: articles + Label Studio labels → versioned Hugging Face dataset."""

import time
from importlib import metadata

STARTED = time.monotonic()  # when khc started, give or take the interpreter's own start (progress.note)

try:
    __version__ = metadata.version("ketamine-health-claims")
except metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"
