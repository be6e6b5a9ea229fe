"""The live dashboard the daemon serves: camera streams, events, stats, the assistant and EigenCAM explanations."""
