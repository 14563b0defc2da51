"""Replay the corpus: inputs the fuzzers found interesting (or crashing), kept as regression tests.

Files are decoded by `stomptest.testing.fuzzing.run_parser` (corpus/parser/) and `run_engine`
(corpus/engine/), exactly as the atheris harnesses in fuzz/ ran them, so a crasher
copied here from libFuzzer's crash-* file replays byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stomptest.testing.fuzzing import run_engine, run_parser

CORPUS = Path(__file__).parent / "corpus"
PARSER = sorted((CORPUS / "parser").iterdir())
ENGINE = sorted((CORPUS / "engine").iterdir())


def test_the_corpus_is_there() -> None:
    assert len(PARSER) >= 5 and len(ENGINE) >= 5


@pytest.mark.parametrize("path", PARSER, ids=[p.name for p in PARSER])
def test_parser_corpus(path: Path) -> None:
    run_parser(path.read_bytes())


@pytest.mark.parametrize("path", ENGINE, ids=[p.name for p in ENGINE])
def test_engine_corpus(path: Path) -> None:
    run_engine(path.read_bytes())
