"""A local server speaking the providers' batch protocols on loopback.

For demos, our tests and users' own tests: `run_sandbox(data_dir, config)` serves every
provider and host on one port (each under its prefix, see `personalities.py`), with state on
disk so a restarted server finds its files and batches where the clock says they are. How to
add a provider module is described in `sandbox/app.py`; behaviour knobs are in
`config.SandboxConfig`.
"""

from __future__ import annotations

from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.server import SandboxHandle, run_sandbox
from batchgraph.sandbox.storage import Creation, read_creations

__all__ = ["Creation", "SandboxConfig", "SandboxHandle", "read_creations", "run_sandbox"]
