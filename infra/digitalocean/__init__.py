"""DigitalOcean: the check adapters that let the cross-cloud rules read DigitalOcean resources (`checks.py`).

Its stack kinds, config models, mocks and prices arrive with their own issues.
"""
