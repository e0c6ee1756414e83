"""Build the Cython modules: the engine core (engine_core/*.pyx) and the simulated world's
price process and signature codec (service/simulator/*.pyx).

ANNOTATE=1 writes the HTML annotation next to each module; PROFILE=1 enables the Cython
profiling hooks; WITHOUT_CYTHON_OPTIMIZATIONS=1 builds with -O0 for debugging.
"""

import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent
opt = ["-O0", "-g"] if os.environ.get("WITHOUT_CYTHON_OPTIMIZATIONS") else ["-O3"]

CYTHON_PACKAGES = ("engine_core", "service/simulator")

extensions = [
    Extension(
        ".".join(pyx.relative_to(HERE).with_suffix("").parts),
        [str(pyx.relative_to(HERE))],
        include_dirs=[numpy.get_include(), "engine_core"],
        extra_compile_args=opt,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for package in CYTHON_PACKAGES
    for pyx in sorted((HERE / package).glob("*.pyx"))
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        annotate=bool(os.environ.get("ANNOTATE")),
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "profile": bool(os.environ.get("PROFILE")),
            "embedsignature": True,
        },
        nthreads=os.cpu_count() or 1,
    ),
)
