"""``ordergraph demo``: the three simulators and a two-tenant gateway in one process.

``config`` builds the demo's secrets, connections, settings and info file; ``orders``
places StackOne orders the production way; ``activity`` plays ATS activity; ``run``
starts and stops it all.
"""

from __future__ import annotations

from ordergraph.demo.run import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
