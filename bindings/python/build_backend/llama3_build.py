"""A minimal PEP 517 build backend for the llama3 Python binding.

It runs the project's own CMake build (the target `llama3_python`) and packs the resulting package
directory (build/python/llama3) into a wheel. It needs nothing from PyPI, so

    python3 -m pip install ./bindings/python                       (or --no-build-isolation)

works offline. Environment:
    LLAMA3_CMAKE_BUILD_DIR  reuse this configured build directory (e.g. build/) instead of a fresh
                            one under build/pip (much faster when the project is already built)
    LLAMA3_CMAKE_ARGS       extra arguments for CMake's configure step
"""
import base64
import hashlib
import os
import shlex
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

NAME = "llama3"
VERSION = "0.1.0"
ROOT = Path(__file__).resolve().parents[3]  # bindings/python/build_backend/ -> the project root


def _build_dir():
    configured = os.environ.get("LLAMA3_CMAKE_BUILD_DIR")
    if configured:
        return Path(configured).resolve()
    return ROOT / "build" / "pip"


def _cmake_build():
    if not (ROOT / "CMakeLists.txt").exists() or not (ROOT / "capi").is_dir():
        raise RuntimeError(f"llama3_build: expected the llama3 project at {ROOT}")
    build = _build_dir()
    if not (build / "CMakeCache.txt").exists():
        command = ["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                   "-DLLAMA3_BUILD_TESTS=OFF", f"-DPython_EXECUTABLE={sys.executable}"]
        command += shlex.split(os.environ.get("LLAMA3_CMAKE_ARGS", ""))
        subprocess.run(command, check=True)
    jobs = str(os.cpu_count() or 1)
    subprocess.run(["cmake", "--build", str(build), "--target", "llama3_python", "-j", jobs],
                   check=True)
    package = build / "python" / NAME
    if not any(package.glob("_llama3*.so")):
        raise RuntimeError(f"llama3_build: the build left no extension in {package}")
    return package


def _tag():
    version = f"{sys.version_info.major}{sys.version_info.minor}"
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"cp{version}-cp{version}-{platform}"


def _metadata():
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
            "Summary: Llama 3 models on CPUs: Python binding of the llama3 C++ library\n"
            "Requires-Python: >=3.9\nRequires-Dist: numpy\n")


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


# ---- PEP 517 hooks ----

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = Path(metadata_directory) / f"{NAME}-{VERSION}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(_metadata())
    return dist_info.name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    package = _cmake_build()
    tag = _tag()
    wheel_name = f"{NAME}-{VERSION}-{tag}.whl"
    dist_info = f"{NAME}-{VERSION}.dist-info"
    files = {}
    for path in sorted(package.iterdir()):
        if path.is_file():
            files[f"{NAME}/{path.name}"] = path.read_bytes()
    files[f"{dist_info}/METADATA"] = _metadata().encode()
    files[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: llama3_build\nRoot-Is-Purelib: false\nTag: {tag}\n"
    ).encode()
    record = [_record_line(name, data) for name, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    Path(wheel_directory).mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(Path(wheel_directory) / wheel_name, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if name.endswith(".so") else 0o644) << 16
            wheel.writestr(info, data, zipfile.ZIP_DEFLATED)
    return wheel_name
