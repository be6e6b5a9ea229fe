"""Alerts: zones and lines, rules that turn tracked detections into Events, the outbox and MQTT delivery."""
