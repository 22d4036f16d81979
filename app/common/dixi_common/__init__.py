"""Code the backend and vision images share: JSON logging and the request body limit.

Each image copies this package in from the `common` named build context
(`app/common`), so it is written once and each service's own build context
stays its own directory.
"""
