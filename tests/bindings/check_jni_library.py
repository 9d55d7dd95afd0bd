#!/usr/bin/env python3
"""Checks a built JNI library against the Java side and stages it as an AAR's native part.

    check_jni_library.py ABI LIB_DIR JAVA_SOURCE_DIR [DEPENDENCY_DIR...]

ABI is an Android ABI name (arm64-v8a, x86_64). The check, for LIB_DIR/libllama3_jni.so:
  - it is a 64-bit little-endian ELF shared object for ABI's machine (EM_AARCH64 = 183,
    EM_X86_64 = 62; the ELF header's e_machine, System V ABI "ELF header");
  - its exported Java_* symbols are exactly those the `native` methods of JAVA_SOURCE_DIR's
    classes bind to (the JNI specification's "Resolving Native Method Names": Java_, the
    package and class with '.' as '_', '_', the method; '_' in a name becomes "_1");
  - the AAR layout: an AAR carries its native libraries as jni/<ABI>/*.so. The library and every
    library it needs (DT_NEEDED, followed transitively) that is not part of the system (bionic,
    the NDK's libc++_shared, glibc here) are copied into a scratch jni/ABI/ folder from LIB_DIR
    or the DEPENDENCY_DIRs (e.g. RE2 from the target's multiarch folder: a phone has none), and
    each one's needs are then found there or are system libraries.
Prints what it checked; exits 1 on the first mismatch. Needs readelf (binutils), which reads
ELF files of any machine.
"""

import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

MACHINES = {"arm64-v8a": 183, "x86_64": 62}
# What Android (bionic and the NDK's C++ runtime) or glibc provide; everything else must ship.
SYSTEM_LIBRARIES = re.compile(
    r"^(libc|libm|libdl|liblog|libandroid|libpthread|librt|libstdc\+\+|libgcc_s|libc\+\+_shared|"
    r"ld-linux-[\w-]+)\.so(\.\d+)*$")


def fail(message):
    print(f"check_jni_library: {message}", file=sys.stderr)
    sys.exit(1)


def elf_machine(path):
    with open(path, "rb") as f:
        header = f.read(20)
    if header[:4] != b"\x7fELF":
        fail(f"{path}: not an ELF file")
    if header[4] != 2 or header[5] != 1:
        fail(f"{path}: not a 64-bit little-endian ELF file")
    e_type, e_machine = struct.unpack_from("<HH", header, 16)
    if e_type != 3:  # ET_DYN
        fail(f"{path}: ELF type {e_type}, expected a shared object (3)")
    return e_machine


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], check=True, capture_output=True,
                          text=True).stdout


def exported_java_symbols(path):
    symbols = set()
    for line in readelf("--dyn-syms", path).splitlines():
        fields = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(fields) >= 8 and fields[3] == "FUNC" and fields[4] == "GLOBAL" \
                and fields[5] == "DEFAULT" and fields[6] != "UND" and fields[7].startswith("Java_"):
            symbols.add(fields[7])
    return symbols


def needed_libraries(path):
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", readelf("--dynamic", path))


def jni_name(part):
    return part.replace("_", "_1")


def declared_natives(java_dir):
    expected = set()
    native = re.compile(r"\bnative\s+[\w\[\]<>.]+\s+(\w+)\s*\(")
    for folder, _, files in os.walk(java_dir):
        for name in sorted(files):
            if not name.endswith(".java"):
                continue
            text = open(os.path.join(folder, name), encoding="utf-8").read()
            package = re.search(r"^\s*package\s+([\w.]+)\s*;", text, re.M)
            prefix = "Java_" + "_".join(jni_name(p) for p in package.group(1).split(".")) \
                if package else "Java"
            cls = jni_name(name[:-len(".java")])
            for method in native.findall(text):
                expected.add(f"{prefix}_{cls}_{jni_name(method)}")
    return expected


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in MACHINES:
        fail(f"usage: check_jni_library.py {{{'|'.join(MACHINES)}}} LIB_DIR JAVA_SOURCE_DIR "
             f"[DEPENDENCY_DIR...]")
    abi, lib_dir, java_dir = sys.argv[1:4]
    search = [lib_dir, *sys.argv[4:]]
    library = os.path.join(lib_dir, "libllama3_jni.so")
    if not os.path.isfile(library):
        fail(f"{library} missing (the llama3_jni target is built when CMake finds JNI)")

    machine = elf_machine(library)
    if machine != MACHINES[abi]:
        fail(f"{library}: e_machine {machine}, expected {MACHINES[abi]} for {abi}")
    print(f"{library}: ELF64 shared object, e_machine {machine} ({abi})")

    expected = declared_natives(java_dir)
    if not expected:
        fail(f"no native methods found under {java_dir}")
    exported = exported_java_symbols(library)
    if exported != expected:
        missing = sorted(expected - exported)
        extra = sorted(exported - expected)
        fail(f"{library}: Java natives without an exported symbol: {missing}; "
             f"exported Java_ symbols no native declares: {extra}")
    print(f"{len(exported)} Java_ symbols exported, one per native method of {java_dir}")

    with tempfile.TemporaryDirectory() as aar:
        abi_dir = os.path.join(aar, "jni", abi)
        os.makedirs(abi_dir)
        pending = [os.path.basename(library)]
        staged = []
        while pending:
            name = pending.pop()
            if name in staged or SYSTEM_LIBRARIES.match(name):
                continue
            found = [os.path.join(d, name) for d in search if os.path.isfile(os.path.join(d, name))]
            if not found:
                fail(f"jni/{abi}/: {name} is needed but is neither in {search} nor a system "
                     f"library")
            source = found[0]
            shutil.copyfile(source, os.path.join(abi_dir, name))
            if elf_machine(source) != MACHINES[abi]:
                fail(f"{source}: not a {abi} library")
            staged.append(name)
            pending.extend(needed_libraries(source))
        for name in staged:
            for need in needed_libraries(os.path.join(abi_dir, name)):
                if not (SYSTEM_LIBRARIES.match(need) or os.path.isfile(os.path.join(abi_dir, need))):
                    fail(f"jni/{abi}/{name} needs {need}, which the layout lacks")
        print(f"AAR layout jni/{abi}/: {', '.join(sorted(staged))}; every need met")


if __name__ == "__main__":
    main()
