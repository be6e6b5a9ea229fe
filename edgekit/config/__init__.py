"""Configuration: the one YAML loader and the daemon config, one module per section."""
