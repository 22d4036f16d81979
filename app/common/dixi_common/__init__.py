"""Code the backend and vision images share: JSON logging, the request body limit,
JSON errors, the bodies both speak, and how they listen (uvicorn with limits).

Each image copies this package in from the `common` named build context
(`app/common`), so it is written once and each service's own build context
stays its own directory.
"""
