"""Test scaffolding, apart from the lessons' API: the claims records the notebooks leave for ``tests/test_claims.py``
and the JupyterLab launcher of the browser tests.
"""
