#!/usr/bin/env bash
# Prints the -L prefix qemu-aarch64 needs to run our aarch64 programs on this machine.
#
# The dynamic loader and the libc.so.6 it loads must come from the same glibc build: they share
# private structures. Once Debian's multiarch libc6:arm64 is installed (libre2-dev:arm64 pulls it
# in), the programs' libraries resolve to /lib/aarch64-linux-gnu, so the loader must come from
# there as well. A prefix of /usr/aarch64-linux-gnu (the cross toolchain's older glibc) pairs the
# cross loader with the multiarch libc, and the first pthread_create then spins forever under the
# emulator. Without multiarch arm64 libraries, the cross toolchain's copy is the only one.
if [ -e /lib/ld-linux-aarch64.so.1 ] && [ -e /lib/aarch64-linux-gnu/libc.so.6 ]; then
  echo /
else
  echo /usr/aarch64-linux-gnu
fi
