"""The execution pipeline's pure parts: providers, evaluation, change tracking, suggestions.

Nothing here touches the database or Temporal; the workflow activities call these
functions and persist what they return.
"""
