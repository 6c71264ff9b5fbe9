"""Defect prediction (``teamlens.model``): LightGBM trained and evaluated on time order.

``dataset`` loads the store's changes (or a public Kamei-format dataset); ``split`` and
``evaluation`` give time-ordered, gap-respecting evaluation against logistic regression
and LApredict; ``training`` fits and saves a model folder (``registry``, ``card``);
``explain`` turns feature contributions into sentences; ``export`` writes the
k-anonymous research table.
"""
