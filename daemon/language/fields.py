"""The declared type of a model field, the same whether or not the model's class has been built.

The flowable task models name ``Task`` only as a forward reference (the union is made after them, in
``tasks.py``). Pydantic keeps such a field's ``annotation`` as a ``ForwardRef`` until the model class itself
is built, which happens on the first validation of that task type: code that reads a field's type
(the owner of an unknown property in ``structure``, the property table of ``catalogue``) would otherwise
see ``list[Task]`` or a ``ForwardRef`` depending on which flows the process has validated.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, ForwardRef

from pydantic import BaseModel


def field_annotation(model: type[BaseModel], name: str) -> Any:
    """The resolved annotation of ``model``'s field ``name`` (a ``ForwardRef`` evaluated in the namespace
    of the class that declares the field)."""
    annotation = model.model_fields[name].annotation
    if not isinstance(annotation, ForwardRef):
        return annotation
    owner = next((c for c in model.__mro__ if name in inspect.get_annotations(c)), model)
    namespace = vars(sys.modules[owner.__module__])
    try:
        # the text is an annotation from flowd's own model source, e.g. "list[Task]"
        return eval(annotation.__forward_arg__, namespace)
    except NameError:
        return annotation
