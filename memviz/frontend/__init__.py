"""The front end: the notebook widgets (explorer, autocomplete demo), the standalone explorer page, and charts
written to files. Its JavaScript lies beside it (``explorer.js``, ``autocomplete.js``).

Imports :mod:`memviz.viz`, :mod:`memviz.analysis`, :mod:`memviz.data` and :mod:`memviz.core`.
"""
