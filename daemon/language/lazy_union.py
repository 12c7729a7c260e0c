"""A tagged union whose members' schemas are built on first use, one member at a time.

Pydantic builds a discriminated union's core schema with every member's schema in it: the first flow
validated in a process paid for all 45 task types (~60 ms), whichever it used. Here each member of the
core schema is a small function that calls the member model's own ``model_validate``, so a member's
schema is built (``defer_build``) when a value of that type first comes along.

Validation behaves as the eager union did: the same tagged-union node picks the member, so an unknown tag
fails with the same error type and message, and an error inside a member keeps its ``loc`` with the tag
in it (``("tasks", 0, "io.kestra.plugin.core.log.Log", "retyr")``). A model instance is returned as it is,
as the model's own validator does. Serialization infers each value's model and uses its own serializer,
with the caller's settings (``by_alias``, ``exclude_none``, ``mode``...).

The JSON schema is the eager union's (built only when a JSON schema is asked for), so the published schema
does not change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Union

from pydantic import BaseModel, Discriminator, GetCoreSchemaHandler, GetJsonSchemaHandler, Tag, TypeAdapter
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema


class LazyTaggedUnion:
    """``Annotated`` metadata that replaces the union it annotates by the lazy union of ``classes``."""

    def __init__(
        self,
        classes: Mapping[str, type[BaseModel]],
        tag: Callable[[Any], str | None],
        *,
        error_type: str,
        error_message: str,
    ) -> None:
        self.classes = dict(classes)
        self.tag = tag
        self.error_type = error_type
        self.error_message = error_message
        self._eager: CoreSchema | None = None
        self._building = threading.local()

    def eager_type(self) -> Any:
        """The union pydantic would build eagerly: every member's schema inside one tagged union."""
        members = tuple(Annotated[cls, Tag(name)] for name, cls in self.classes.items())
        discriminator = Discriminator(
            self.tag, custom_error_type=self.error_type, custom_error_message=self.error_message
        )
        return Annotated[Union[members], discriminator]  # noqa: UP007

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        # the handler is not called: calling it would build every member's schema
        choices: dict[Any, CoreSchema] = {
            name: core_schema.with_info_plain_validator_function(_member_validator(cls))
            for name, cls in self.classes.items()
        }
        return core_schema.tagged_union_schema(
            choices,
            self.tag,
            custom_error_type=self.error_type,
            custom_error_message=self.error_message,
            serialization=core_schema.wrap_serializer_function_ser_schema(
                _serialize, schema=core_schema.any_schema()
            ),
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        if getattr(self._building, "active", False):
            # a member of the eager union refers back to this union (a flowable's ``tasks``, by ``$ref``):
            # the definition this inner call would make is overwritten by the outer call's, when it ends
            return {}
        if self._eager is None:
            self._eager = TypeAdapter(self.eager_type()).core_schema
        self._building.active = True
        try:
            return handler(self._eager)
        finally:
            self._building.active = False


def _serialize(value: Any, handler: core_schema.SerializerFunctionWrapHandler) -> Any:
    """Serialize a member with its own model's serializer (inferred, with the caller's settings).

    A member class is built by its first validation; an instance that came another way (unpickled from the
    parsed-flow cache) may belong to a class not built yet, and the inference needs its real serializer."""
    cls = type(value)
    if isinstance(value, BaseModel) and not cls.__pydantic_complete__:
        cls.model_rebuild()
    return handler(value)


def _member_validator(cls: type[BaseModel]) -> core_schema.WithInfoValidatorFunction:
    validate = cls.model_validate

    def member(value: Any, info: core_schema.ValidationInfo) -> Any:
        # an error raised here keeps its locations, under this member's tag
        return validate(value, context=info.context)

    member.__qualname__ = f"validate_{cls.__name__}"
    return member
