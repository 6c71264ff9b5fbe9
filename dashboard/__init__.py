"""Team quality trends (``teamlens.dashboard``), never per person.

``team_period`` builds the disclosure-controlled ``team_period`` table (with ``ledger``,
the record of what was published); ``published_check`` recomputes its guarantees for
``teamlens privacy``; ``report`` renders the offline HTML page and CSV
(from ``report_rows``, ``charts``, ``team_section``, ``page`` with its style sheet
``report.css``, and ``report_csv``); ``serve`` serves it.
"""
