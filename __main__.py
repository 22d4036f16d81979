"""The Pulumi program: read the typed config, then deploy the stack kind it names.

A bad config stops the run before the first resource with one line per bad key
(a `pulumi.RunError`, which Pulumi prints without a Python traceback). The
stack kinds and their modules are listed once, in `infra.targets`.
"""

import pulumi

from infra import config, targets

try:
    cfg = config.from_pulumi()
except config.ConfigError as error:
    raise pulumi.RunError(str(error)) from None

targets.KINDS[cfg.stack_kind].deploy()(cfg)
