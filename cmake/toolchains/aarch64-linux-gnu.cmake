# Cross-compiling for 64-bit ARM Linux with Debian's g++-aarch64-linux-gnu, against Debian's arm64
# multiarch libraries (e.g. libre2-dev:arm64 in /usr/lib/aarch64-linux-gnu; header-only packages
# such as xsimd, nlohmann-json and Catch2 come from /usr/include as for the host build).
# The test programs run under qemu-aarch64 (Debian's qemu-user); QEMU_CPU picks the emulated CPU
# (scripts/test-aarch64.sh runs the suite with `max` and with `cortex-a53`).
#
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# ctest and catch_discover_tests run the test binaries through the emulator. -L names where the
# loader comes from, which must be the glibc whose libc.so.6 the programs load: the multiarch one
# when libc6:arm64 is installed (scripts/qemu-aarch64-prefix.sh says why).
find_program(LLAMA3_QEMU_AARCH64 qemu-aarch64)
if(LLAMA3_QEMU_AARCH64)
  if(EXISTS /lib/ld-linux-aarch64.so.1 AND EXISTS /lib/aarch64-linux-gnu/libc.so.6)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${LLAMA3_QEMU_AARCH64} -L /)
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR ${LLAMA3_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
  endif()
endif()

# Libraries and pkg-config files of the target architecture only; programs from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
