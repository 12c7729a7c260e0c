"""Trigger reconciliation, pure: which trigger state rows a new flow revision inserts, resets, keeps or drops.

A trigger's identity is (namespace, flow id, trigger id); its *definition hash* covers everything the model
read for it (cron, timezone, conditions, inputs, ...) plus its effective ``disabled`` flag, never the YAML
layout. So a changed cron resets the state (the scheduler recomputes ``next_date`` from the new definition,
which is what makes an edited schedule fire without a restart), an untouched trigger keeps its dates even when
the rest of the flow changed, and a trigger that disappeared from the file has its state deleted (it stops).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from daemon.language.model import Flow, TriggerBase

TriggerAction = Literal["insert", "reset", "keep", "delete"]


@dataclass(frozen=True, slots=True)
class TriggerDef:
    """What the store needs of one trigger of a flow file."""

    trigger_id: str
    type: str
    hash: str
    disabled: bool


@dataclass(frozen=True, slots=True)
class TriggerOp:
    """One change to a trigger state row; ``definition`` is None for ``delete``."""

    action: TriggerAction
    trigger_id: str
    definition: TriggerDef | None


def trigger_defs(flow: Flow) -> tuple[TriggerDef, ...]:
    """The triggers of a flow with their definition hashes (a disabled flow disables its triggers)."""
    out = []
    triggers: list[TriggerBase] = list(flow.triggers)
    for trigger in triggers:
        disabled = bool(trigger.disabled or flow.disabled)
        data = trigger.model_dump(mode="json", by_alias=True, exclude={"disabled"})
        data["disabled"] = disabled
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
        out.append(TriggerDef(trigger.id, trigger.type, digest, disabled))
    return tuple(out)


def reconcile_triggers(desired: Sequence[TriggerDef], existing: Mapping[str, str]) -> list[TriggerOp]:
    """Compare a revision's triggers with the stored states (trigger id -> definition hash)."""
    ops: list[TriggerOp] = []
    wanted = {d.trigger_id for d in desired}
    for definition in desired:
        stored = existing.get(definition.trigger_id)
        if stored is None:
            ops.append(TriggerOp("insert", definition.trigger_id, definition))
        elif stored != definition.hash:
            ops.append(TriggerOp("reset", definition.trigger_id, definition))
        else:
            ops.append(TriggerOp("keep", definition.trigger_id, definition))
    ops.extend(TriggerOp("delete", tid, None) for tid in sorted(existing) if tid not in wanted)
    return ops
