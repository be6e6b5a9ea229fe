"""edgekit: edge-first toolkit for embedded vision and local LLMs."""

__version__ = "0.1.0"
