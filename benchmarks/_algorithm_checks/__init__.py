"""Quality checks of the built-in algorithms against references, one module per algorithm.

Each module exposes ``run(fast: bool = False, seed: int = 0) -> list[dict]``; every dict has
``algorithm``, ``check``, ``metric``, ``score``, ``reference``, ``reference_name``, ``passed``.
``benchmarks/algorithms.py`` runs them all and prints the table.
"""
