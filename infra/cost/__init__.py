"""Monthly cost: the pricing interface each cloud implements (`pricing`) and the estimator over a recorded plan (`estimate`).

The prices themselves live with their cloud, in `infra/<cloud>/prices.py`.
"""
