"""CCTV recording: what the NVR VM records, where, for how long, and how much disk that takes."""
