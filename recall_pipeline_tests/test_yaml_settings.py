"""Settings files read strictly: the matching model file as petition.yaml, and fuzzing of
petition.yaml — a file is either read as written or refused with its problems, never read with
a default standing in for what it tried to say."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recall_pipeline.ingest.errors import PetitionConfigError
from recall_pipeline.ingest.petition_config import load_petition_config
from recall_pipeline.reference import reference_path
from recall_pipeline.verify.model import MatchModel, ModelError
from recall_pipeline_tests.datadir import PETITION_YAML

SHIPPED = reference_path("match_model.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (("u_floor: 0.0001", "u_floor: 0.0001\nu_floor: 0.01"), "u_floor: given twice (lines"),
        (("  review: 0.25", "  reveiw: 0.25"), "thresholds.reveiw: not a setting this file has"),
        (("u_prior_pairs: 1000", "u_prior_pairs: many"), "u_prior_pairs: 'many' is not a whole"),
        (("registrant_share:", "registrant_shares:"), "registrant_share: missing"),
    ],
    ids=["twice", "misspelt", "not-a-number", "renamed-block"],
)
def test_the_matching_model_file_is_read_strictly(
    tmp_path: Path, edit: tuple[str, str], problem: str
) -> None:
    assert edit[0] in SHIPPED
    path = tmp_path / "match_model.yaml"
    path.write_text(SHIPPED.replace(*edit), encoding="utf-8")
    with pytest.raises(ModelError) as caught:
        MatchModel.load(path)
    assert "problem(s) in the matching model" in str(caught.value)
    assert problem in str(caught.value)


def test_the_shipped_model_reads() -> None:
    model = MatchModel.load()
    assert 0 < model.review < model.accept < 1


SETTING_LINES = [line for line in PETITION_YAML.splitlines() if line.strip()]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(["2022-07-06", "2022-13-01", "full_count", "local_recall", "null", "~"]),
)


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "80")), deadline=None)
@given(
    line=st.integers(0, len(SETTING_LINES) - 1),
    action=st.sampled_from(["drop", "twice", "value", "rename"]),
    value=SCALARS,
)
def test_fuzz_a_petition_file_is_read_as_written_or_refused(line: int, action: str, value) -> None:
    lines = list(SETTING_LINES)
    key, _, _ = lines[line].partition(":")
    if action == "drop":
        del lines[line]
    elif action == "twice":
        lines.insert(line + 1, lines[line])
    elif action == "value":
        lines[line] = f"{key}: {value!r}" if isinstance(value, str) else f"{key}: {value}"
    else:
        lines[line] = f"{key}x:{lines[line].partition(':')[2]}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "petition.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            config = load_petition_config(path, "petition.yaml", "test-recall")
        except PetitionConfigError as error:
            assert error.problems
            return
    # Read: then nothing the file said was lost or replaced by a default.
    assert action not in ("twice", "rename")
    if action == "drop":
        assert key.strip() in ("threshold_percent", "registration_cutoff", "duplicates_keep",
                               "unreviewed_signatures", "sufficient_when")  # fmt: skip
    assert config.petition_id == "test-recall"
