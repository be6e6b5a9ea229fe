"""The wire contract every side shares (the daemon, the hub, the assistant, the dashboard): MQTT topics, the event
payload, the stats file and JPEG encoding. It imports nothing of edgekit but the root modules."""
