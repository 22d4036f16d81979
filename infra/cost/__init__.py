"""Monthly cost: dated, sourced price tables (`prices`) and the estimator over a recorded plan (`estimate`)."""
