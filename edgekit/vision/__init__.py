"""Pre-processing, decoding and drawing for vision models."""
