"""Building blocks of the pages (not pages themselves: ``pages/navigation.py`` lists the pages).

One module per feature: ``trace_ui`` and ``trace_views`` (Pipeline Trace), ``training_ui``
(Training Lab), ``quiz_ui``, ``quiz_lab_ui`` and ``quiz_predict_ui`` (Quiz), and ``common`` for
what they share, including :func:`~pages.parts.common.startup`, which ``app.py`` calls once when
the server starts.
"""
