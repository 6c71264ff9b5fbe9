"""Per-change features (``teamlens.features``), only what was knowable when a change was made.

``changes`` builds ``change_features`` and ``change_labels`` from the store (history
replay in ``kamei``, code structure from tree-sitter in ``code_metrics``, review facts in
``reviews``); ``diffs`` reads the hunks. No feature describes a person.
"""
