"""The review bot (``teamlens.bot``): risk level, reasons and suggestions for a change.

``review`` scores a change with the current model and applies the ``rules``; ``change``
and ``github`` read a local diff or a pull request; ``render`` writes Markdown, JSON or
SARIF; ``webhook`` serves GitHub's webhooks; ``stats`` counts how suggestions were
received. It talks about the change, never the person.
"""
