"""Vision's routers, one per area: health, frames, metrics."""
