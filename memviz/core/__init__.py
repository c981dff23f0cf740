"""The core layer: paths and files, model names, and the plain result containers every other layer passes around.

Imports nothing of memviz.
"""
