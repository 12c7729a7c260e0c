"""Git as the source of truth: plan (pure diff) and apply (one store transaction) of a sync.

``Reconciler(store, source, *, prune=True, allow_empty=False)`` is what the daemon keeps; ``plan()`` is the
pure core and ``apply_plan`` its store adapter.
"""

from daemon.reconcile.plan import DeployedFlow, DesiredFlow, FlowChange, InvalidFile, KeptFlow, Plan, plan
from daemon.reconcile.reconciler import Reconciler, SyncOutcome

__all__ = [
    "DeployedFlow",
    "DesiredFlow",
    "FlowChange",
    "InvalidFile",
    "KeptFlow",
    "Plan",
    "Reconciler",
    "SyncOutcome",
    "plan",
]
