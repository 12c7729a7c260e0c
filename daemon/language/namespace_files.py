"""``namespaceFiles``: which of the namespace's files a task gets in its working directory."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from daemon.language.common import new_list


class NamespaceFiles(BaseModel):
    """Kestra's ``namespaceFiles`` property (``enabled``, glob ``include``/``exclude``, ``namespaces``)."""

    model_config = ConfigDict(extra="ignore")

    enabled: bool | str = True
    include: list[str] = Field(default_factory=new_list)
    exclude: list[str] = Field(default_factory=new_list)
    # Kestra's other namespaces whose files are added (flowd: the flow's own namespace first, then these)
    namespaces: list[str] = Field(default_factory=new_list)
    ifExists: str = "OVERWRITE"
    folderPerNamespace: bool = False
