"""Extract: page through the sources with the hooks and hand the planners their DataFrames."""
