"""Serving: the scoring web page and REST API (``python -m dfdetect serve``), above the inference layer.

``uploads`` (a file received safely: streamed, size-limited, sniffed), ``page`` (the HTML page), ``app`` (the FastAPI
app around one Detector), ``cli`` (uvicorn).
"""
