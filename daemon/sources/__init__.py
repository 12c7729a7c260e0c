"""Flow sources: a local folder or a Git repository (pygit2), flow file discovery and folder watching.

``open_source(spec, ...)`` picks the source; ``source.snapshot(since)`` returns a ``Snapshot`` of the
YAML files (which are flows: ``discovery``); every failure to read the source is a ``SourceError``.
"""

from daemon.sources.discovery import is_flow_candidate, is_yaml_name
from daemon.sources.folder import LocalFolderSource
from daemon.sources.git import GitSource
from daemon.sources.opener import open_source
from daemon.sources.snapshot import Skipped, Snapshot, Source
from daemon.sources.watch import Stoppable, watch_folder

__all__ = [
    "GitSource",
    "LocalFolderSource",
    "Skipped",
    "Snapshot",
    "Source",
    "Stoppable",
    "is_flow_candidate",
    "is_yaml_name",
    "open_source",
    "watch_folder",
]
