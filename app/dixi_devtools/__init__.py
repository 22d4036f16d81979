"""Development helpers shared by the tests and the benchmark; never shipped in an image."""
