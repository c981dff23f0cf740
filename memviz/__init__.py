"""memviz."""
