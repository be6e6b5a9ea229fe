"""From detections to events: ByteTrack, zones and lines, filters, counts, pose conditions, rules and the rate check."""
