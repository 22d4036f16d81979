"""One module per stack kind; each has `deploy(cfg)` and owns its stack outputs (registered in `infra.targets`)."""
