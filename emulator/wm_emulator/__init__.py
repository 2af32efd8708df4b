"""This project's extensions of moto, the local AWS emulator.

moto's CloudFormation skips resource types it does not model with only a log
warning, and the stack still says CREATE_COMPLETE. Each module here adds one type on
top of the moto backend that serves that type's API, so what a stack creates can be
read back through the ordinary API:

- scheduler.py: AWS::Scheduler::Schedule (EventBridge Scheduler)

Everything else moto does not model stays absent, and `make deploy` lists it.
"""

from moto.cloudformation import parsing

from .scheduler import SchedulerSchedule

EXTENDED_TYPES = (SchedulerSchedule,)


def install() -> list[str]:
    """Make moto's CloudFormation see the extension types; returns their type names."""
    for cache in (parsing.get_model_map, parsing.get_name_type_map):
        cache.cache_clear()
    return [cls.cloudformation_type() for cls in EXTENDED_TYPES]
