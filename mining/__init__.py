"""Repository miners (``teamlens.mining``): raw facts from git and GitHub into the store.

``miner`` and ``ranges`` stream ``git log`` into ``commits`` and ``file_changes`` (a very
large history split by commit ranges); ``github`` reads pull requests, reviews and review
comments; ``szz`` labels the commits that induced later fixes (``blame``: the fix's
diff, `git blame` and the read faults); ``git`` is the one runner of whole git commands;
``tasks`` and ``dask_runner`` run one task per repository, serially or on a Dask cluster.
"""
