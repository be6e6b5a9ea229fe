"""The camera daemon: per-camera workers (capture → detect → track → pose → rules → events) and their stats."""
