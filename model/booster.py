"""A LightGBM text model, loaded and scored through LightGBM's C library directly.

Scoring one change needs two calls of LightGBM's C API (raw score and feature
contributions), but ``import lightgbm`` imports scikit-learn and SciPy with it (about a
second; see docs/review.md, "Speed"). :class:`TextBooster` loads ``lib_lightgbm`` from
the installed ``lightgbm`` package without importing the package, and calls the same C
functions that ``lightgbm.Booster.predict`` calls, with the same arguments, so the numbers
are the same (tests/model/test_booster.py compares them). Training stays with the
``lightgbm`` package (model.estimator).

Prediction runs single-threaded (``num_threads=1``), and LightGBM's own log is off.
"""

from __future__ import annotations

import ctypes
import importlib.util
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

#: LightGBM's C API codes (c_api.h).
_PREDICT_RAW_SCORE = 1
_PREDICT_CONTRIB = 3
_DTYPE_FLOAT64 = 1
_ROW_MAJOR = 1
_PARAMETERS = b"num_threads=1 verbosity=-1"

_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()
#: A log callback that drops LightGBM's messages (kept alive as long as the library).
_QUIET = ctypes.CFUNCTYPE(None, ctypes.c_char_p)(lambda _message: None)


class BoosterError(ValueError):
    """The text is not a LightGBM model, or LightGBM's library cannot be found."""


def _library_path() -> Path:
    """``lib_lightgbm`` inside the installed ``lightgbm`` package (not imported)."""
    spec = importlib.util.find_spec("lightgbm")
    if spec is None or not spec.submodule_search_locations:
        raise BoosterError("the lightgbm package is not installed")
    name = {"darwin": "lib_lightgbm.dylib", "win32": "lib_lightgbm.dll"}.get(
        sys.platform, "lib_lightgbm.so"
    )
    for folder in spec.submodule_search_locations:
        for candidate in (Path(folder) / "lib" / name, Path(folder) / "bin" / name):
            if candidate.is_file():
                return candidate
    raise BoosterError(f"{name} not found in the lightgbm package")


def _library() -> ctypes.CDLL:
    global _lib
    with _lib_lock:
        if _lib is None:
            lib = ctypes.cdll.LoadLibrary(str(_library_path()))
            lib.LGBM_GetLastError.restype = ctypes.c_char_p
            # LightGBM would print its messages (a malformed model's "[Fatal] ...") on
            # stdout; the error is raised as BoosterError instead.
            _check_code(lib, lib.LGBM_RegisterLogCallback(_QUIET))
            _lib = lib
        return _lib


def _check_code(lib: ctypes.CDLL, code: int) -> None:
    if code != 0:
        message = lib.LGBM_GetLastError()
        raise BoosterError(message.decode("utf-8", "replace") if message else "LightGBM error")


def _check(code: int) -> None:
    _check_code(_library(), code)


class TextBooster:
    """A LightGBM model read from its text (``model.txt``), for scoring only.

    >>> TextBooster("not a model")
    Traceback (most recent call last):
    ...
    model.booster.BoosterError: ...
    """

    def __init__(self, model_text: str) -> None:
        lib = _library()
        self._handle = ctypes.c_void_p()
        iterations = ctypes.c_int(0)
        _check(
            lib.LGBM_BoosterLoadModelFromString(
                ctypes.c_char_p(model_text.encode("utf-8")),
                ctypes.byref(iterations),
                ctypes.byref(self._handle),
            )
        )
        self.model_text = model_text
        self._names = self._feature_names()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value is not None and _lib is not None:
            _lib.LGBM_BoosterFree(handle)

    def _feature_names(self) -> tuple[str, ...]:
        lib = _library()
        count = ctypes.c_int(0)
        _check(lib.LGBM_BoosterGetNumFeature(self._handle, ctypes.byref(count)))
        size = 256
        while True:
            buffers = [ctypes.create_string_buffer(size) for _ in range(count.value)]
            pointers = (ctypes.c_char_p * count.value)(
                *(ctypes.cast(b, ctypes.c_char_p) for b in buffers)
            )
            got, needed = ctypes.c_int(0), ctypes.c_size_t(0)
            _check(
                lib.LGBM_BoosterGetFeatureNames(
                    self._handle,
                    ctypes.c_int(count.value),
                    ctypes.byref(got),
                    ctypes.c_size_t(size),
                    ctypes.byref(needed),
                    pointers,
                )
            )
            if needed.value <= size:
                return tuple(b.value.decode("utf-8") for b in buffers[: got.value])
            size = int(needed.value)

    def feature_name(self) -> list[str]:
        """The model's feature names, in order (as ``lightgbm.Booster.feature_name``)."""
        return list(self._names)

    def model_to_string(self) -> str:
        return self.model_text

    def predict(
        self, data: Any, *, raw_score: bool = False, pred_contrib: bool = False
    ) -> npt.NDArray[np.float64]:
        """Raw scores (one per row) or contributions (one row per row: each feature, then
        the bias), as ``lightgbm.Booster.predict`` gives them. ``data``: rows of the
        model's features in its order (a 2-D array, or a frame with those columns)."""
        if raw_score == pred_contrib:
            raise ValueError("give raw_score=True or pred_contrib=True")
        columns = getattr(data, "columns", None)
        if columns is not None:
            data = data.loc[:, list(self._names)]
        matrix = np.ascontiguousarray(np.asarray(data, dtype=np.float64))
        if matrix.ndim != 2 or matrix.shape[1] != len(self._names):
            raise ValueError(f"expected rows of {len(self._names)} features, got {matrix.shape}")
        rows = matrix.shape[0]
        kind = _PREDICT_CONTRIB if pred_contrib else _PREDICT_RAW_SCORE
        width = len(self._names) + 1 if pred_contrib else 1
        out = np.empty(rows * width, dtype=np.float64)
        written = ctypes.c_int64(0)
        if rows:
            _check(
                _library().LGBM_BoosterPredictForMat(
                    self._handle,
                    matrix.ctypes.data_as(ctypes.c_void_p),
                    ctypes.c_int(_DTYPE_FLOAT64),
                    ctypes.c_int32(rows),
                    ctypes.c_int32(matrix.shape[1]),
                    ctypes.c_int(_ROW_MAJOR),
                    ctypes.c_int(kind),
                    ctypes.c_int(0),
                    ctypes.c_int(-1),
                    ctypes.c_char_p(_PARAMETERS),
                    ctypes.byref(written),
                    out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                )
            )
            if written.value != out.size:
                raise BoosterError(f"LightGBM wrote {written.value} values, expected {out.size}")
        return out.reshape(rows, width) if pred_contrib else out
