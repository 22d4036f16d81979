"""Dixi backend: gesture events and AI answers fanned out over WebSocket."""
