"""Builds the compiled core: C99 in csrc/, wrapped by Cython in src/fastmaze/.

OpenMP is used when the compiler has it (probed by compiling a tiny program), serial
otherwise. No -march=native unless asked for: FASTMAZE_NATIVE=1 pip install .
FASTMAZE_SANITIZE=address,undefined builds with those sanitizers (gcc/clang; see
.ci/sanitizers for how to run the result).
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = [
    "csrc/generate.c",
    "csrc/place.c",
    "csrc/solve.c",
    "csrc/render.c",
    "csrc/step.c",
    "csrc/walk.c",
]
OPENMP_PROBE = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"


def has_openmp(compiler, extra: list[str]) -> bool:
    """Whether this compiler builds and links an OpenMP program with -fopenmp (and the
    ``extra`` flags every object gets)."""
    flags = ["-fopenmp", *extra]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text(OPENMP_PROBE)
        try:
            objs = compiler.compile([str(src)], output_dir=tmp, extra_postargs=flags)
            compiler.link_executable(objs, str(Path(tmp) / "probe"), extra_postargs=flags)
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        compile_args = ["/O2"] if msvc else ["-O3", "-std=c99", "-fno-strict-aliasing"]
        link_args = []
        sanitize = os.environ.get("FASTMAZE_SANITIZE", "")
        if sanitize and not msvc:
            compile_args += [f"-fsanitize={sanitize}", "-fno-sanitize-recover=all"]
            # Python's own flags carry -fwrapv, which would hide signed overflow from UBSan:
            # the core is portable C99, where signed overflow is undefined.
            compile_args += ["-fno-wrapv", "-fno-omit-frame-pointer", "-g"]
            link_args.append(f"-fsanitize={sanitize}")
        if not msvc and has_openmp(self.compiler, link_args):
            compile_args.append("-fopenmp")
            link_args.append("-fopenmp")
        elif msvc:
            compile_args.append("/openmp")
        else:
            print("fastmaze: no OpenMP in this compiler; the core runs serially", file=sys.stderr)
        if os.environ.get("FASTMAZE_NATIVE") == "1" and not msvc:
            compile_args.append("-march=native")
        for ext in self.extensions:
            ext.extra_compile_args = compile_args
            ext.extra_link_args = link_args
        super().build_extensions()


extensions = [
    Extension(
        "fastmaze._core",
        sources=["src/fastmaze/_core.pyx", *[c for c in CSRC if Path(c).exists()]],
        include_dirs=["csrc", np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
]

setup(
    ext_modules=cythonize(
        extensions, include_path=["src"], compiler_directives={"language_level": "3"}
    ),
    cmdclass={"build_ext": BuildExt},
)
