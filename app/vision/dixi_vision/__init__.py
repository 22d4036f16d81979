"""Dixi vision service: camera frames in, hand gestures out."""
