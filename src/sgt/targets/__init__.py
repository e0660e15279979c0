"""Proxy-task target synthesis; importing this package registers every built-in task."""

from sgt.targets import detection, high, inpaint, low, mid, mixed, restore  # noqa: F401  (registration)
from sgt.targets.registry import TASKS, Task, register, resolve_task, task_params

__all__ = ["TASKS", "Task", "register", "resolve_task", "task_params"]
