"""Operations: what happens around a run — recording and announcing failures."""
