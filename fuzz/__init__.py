"""Coverage-guided fuzz targets (atheris): one module per parser of outside input.

Each ``fuzz/<target>.py`` runs under atheris (``scripts/fuzz.sh``) and exposes
``test_one_input(data: bytes) -> None``, which asserts the parser's contract; seeds live in
``fuzz/seeds/<target>/`` (made by ``fuzz/make_seeds.py``). See FUZZING.md.
"""
