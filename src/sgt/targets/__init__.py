"""Proxy-task target synthesis; importing this package registers every built-in task."""

from sgt.targets import high, low  # noqa: F401  (registration side effects)
from sgt.targets.registry import TASKS, Task, register, resolve_task, task_params

__all__ = ["TASKS", "Task", "register", "resolve_task", "task_params"]
