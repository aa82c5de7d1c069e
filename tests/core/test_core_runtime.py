"""dfdetect.core.runtime.machine_info: the record of what a run's CPU figures depend on (summary.json, model card)."""

from __future__ import annotations

import json
import os
import platform

import numpy as np
import torch

from dfdetect.core.runtime import machine_info


def test_machine_info_names_the_cpu_its_kernels_the_allocator_threads_and_versions() -> None:
    info = machine_info()
    types = {"cpu_model": str, "cpu_capability": str, "cpu_count": int, "platform": str, "allocator": str,
             "torch_threads": int, "torch": str, "numpy": str, "python": str}
    assert {k: type(v) for k, v in info.items()} == types
    assert info["cpu_model"] and info["cpu_count"] == (os.cpu_count() or 1)
    assert info["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert info["allocator"] in ("tcmalloc", "jemalloc", "system")
    if "tcmalloc" in os.environ.get("LD_PRELOAD", "") and os.path.exists(os.environ["LD_PRELOAD"].split(":")[0]):
        assert info["allocator"] == "tcmalloc"  # make loads it when installed
    assert (info["torch"], info["numpy"], info["python"]) == (torch.__version__, np.__version__,
                                                              platform.python_version())
    assert json.loads(json.dumps(info)) == info  # plain JSON for summary.json


def test_machine_info_reports_the_threads_in_force() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert machine_info()["torch_threads"] == 1
    finally:
        torch.set_num_threads(before)
