"""The models layer: the article's recurrent cells (LSTM, GRU, Nested LSTM, and a tanh RNN) and the autocomplete model.

Imports only :mod:`memviz.core`.
"""
