"""Errors that stop ingestion: the input is not what the contract says it is."""

from __future__ import annotations

from recall_pipeline.yaml_settings import SettingsFileError


class StructuralError(Exception):
    """An input file cannot be ingested as a whole (wrong shape, encoding, duplicate keys).

    The message always names the file, the row when there is one, and the problem, and never
    quotes personal data from the file.
    """

    def __init__(self, file: str, problem: str, row: int | None = None):
        self.file = file
        self.row = row
        self.problem = problem
        where = f"{file}, row {row}" if row is not None else file
        super().__init__(f"{where}: {problem}")


class PetitionConfigError(SettingsFileError):
    """petition.yaml is missing fields or holds wrong values; lists every problem at once."""

    def __init__(self, file: str, problems: list[str]):
        super().__init__(file, problems, "petition settings")
