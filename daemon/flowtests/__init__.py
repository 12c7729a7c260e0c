"""Flow unit tests (``flowd test``), in the shape of Kestra's: a test file names a flow (``namespace``,
``flowId``) and holds ``testCases``; each case mocks inputs, files and tasks (``fixtures``) and checks
``assertions`` on the execution it runs in a throwaway embedded store.

``spec`` (the file format, loaded with file:line diagnostics) -> ``assertions`` (pure operators) ->
``mocking`` (task plugins replaced by fixtures) -> ``runner`` (one case, one store) -> ``report`` (text,
JUnit XML).
"""
