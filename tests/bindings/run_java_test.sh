#!/usr/bin/env bash
# Compiles the Java classes of bindings/android with the JDK's javac and runs the test main against
# libllama3_jni.so / libllama3.so. Exits 77 (skipped) without a JDK.
#   run_java_test.sh JAVAC JAVA ANDROID_DIR LIB_DIR CLASSES_DIR [MAIN_CLASS]
# MAIN_CLASS is the test's class in org.llama3 (default Llama3Test).
set -euo pipefail
source "$(dirname "$0")/require_test_data.sh"
javac=$1 java=$2 android=$3 lib=$4 classes=$5 main=${6:-Llama3Test}
if [ ! -x "$javac" ] || [ ! -x "$java" ]; then
  echo "skipped: no JDK (javac/java)" >&2
  exit 77
fi
rm -rf "$classes"
mkdir -p "$classes"
"$javac" -Xlint:all -Werror -d "$classes" $(find "$android/src" -name '*.java')
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$java" -Xcheck:jni -Djava.library.path="$lib" -cp "$classes" "org.llama3.$main"
