#!/usr/bin/env bash
# The OpenCL backend on a GPU machine (NVIDIA: its driver provides OpenCL): build, run the OpenCL tests, print
# GEMM GFLOPS and SimpleCNN training/inference samples/s on the GPU beside the CPU backend pinned to 2 cores.
# Run from anywhere: benchmarks/gpu-check.sh [opencl[:PLATFORM:DEVICE]]
#
# Nothing outside that machine is reachable, so the build is offline. `./mvnw -o` needs the Maven distribution
# and every plugin and dependency in a local repository, and ~/.m2 will not exist there: first, on this side,
#   benchmarks/gpu-check.sh --prepare-offline
# copies just what `-pl ops-opencl -am verify` needs from ~/.m2 into .m2-offline/ (about 33 MB; carry it with
# the working tree, never commit it). Without it the Maven step fails and the script falls back to javac + the
# JOCL jar (JOCL_JAR), which skips the JUnit tests but still checks a training step against the reference.
# A JDK 25 must be on that machine (JAVA_HOME); it is too big to carry.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --prepare-offline ]; then
  # ~/.m2 served as a file:// mirror, so the new repository receives exactly what the build resolves
  rm -rf .m2-offline && mkdir -p .m2-offline && cp -r ~/.m2/wrapper .m2-offline/
  printf '<settings><mirrors><mirror><id>m2</id><mirrorOf>*</mirrorOf><url>file://%s</url></mirror></mirrors></settings>' \
      "$HOME/.m2/repository" > .m2-offline/settings.xml
  MAVEN_USER_HOME=$PWD/.m2-offline ./mvnw -B -q -ntp -s .m2-offline/settings.xml -Dmaven.repo.local=$PWD/.m2-offline/repository \
      -pl ops-opencl -am verify -Dtest='OpenClDevicesTest' -Dsurefire.failIfNoSpecifiedTests=false || exit 1
  # artifacts marked as fetched from the mirror count as unavailable offline; unmarked ones are plain local files
  find .m2-offline/repository -name _remote.repositories -delete
  du -sh .m2-offline && exit 0
fi
DEVICE=${1:-opencl}
BATCH=${BATCH:-256} STEPS=${STEPS:-50} CPU_STEPS=${CPU_STEPS:-3}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA="$JAVA_HOME/bin/java"
# the JVM keeps its signal handlers when an OpenCL driver installs its own (docs/opencl.md, PoCL's LLVM did)
if [ -e "$JAVA_HOME/lib/libjsig.so" ]; then export LD_PRELOAD="$JAVA_HOME/lib/libjsig.so${LD_PRELOAD:+:$LD_PRELOAD}"; fi
"$JAVA" -version 2>&1 | grep -q 'version "2[5-9]' || { echo "need JDK 25+ at JAVA_HOME (found: $("$JAVA" -version 2>&1 | head -1))"; exit 1; }
FLAGS="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED"

# JOCL dlopens "libOpenCL.so", the -dev package's link; a bare driver install often has only libOpenCL.so.1.
mkdir -p target/opencl
if ! ldconfig -p | grep -q 'libOpenCL\.so '; then
  SO1=$(ldconfig -p | awk '/libOpenCL\.so\.1 /{print $NF; exit}')
  [ -n "$SO1" ] && ln -sf "$SO1" target/opencl/libOpenCL.so && export LD_LIBRARY_PATH=$PWD/target/opencl:${LD_LIBRARY_PATH:-}
fi
# Containers sometimes mount NVIDIA's OpenCL library without its ICD file: register it for the loader.
if [ ! -e /etc/OpenCL/vendors/nvidia.icd ] && ldconfig -p | grep -q libnvidia-opencl.so.1; then
  mkdir -p target/opencl/vendors && echo libnvidia-opencl.so.1 > target/opencl/vendors/nvidia.icd
  export OCL_ICD_VENDORS=$PWD/target/opencl/vendors
fi
command -v clinfo >/dev/null && clinfo -l
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null

JOCL_JAR=${JOCL_JAR:-}
if [ -d .m2-offline ]; then
  export MAVEN_USER_HOME=$PWD/.m2-offline
  MVN_REPO=(-Dmaven.repo.local=$PWD/.m2-offline/repository)
  JOCL_JAR=${JOCL_JAR:-$PWD/.m2-offline/repository/org/jocl/jocl/2.0.5/jocl-2.0.5.jar}
else
  MVN_REPO=()
  JOCL_JAR=${JOCL_JAR:-$HOME/.m2/repository/org/jocl/jocl/2.0.5/jocl-2.0.5.jar}
fi

echo "== build and OpenCL tests (offline Maven) =="
if ./mvnw -B -q -ntp -o ${MVN_REPO[@]+"${MVN_REPO[@]}"} -Dshears.opencl.device="$DEVICE" -pl ops-opencl -am verify; then
  CP=core/target/classes:ops-cpu/target/classes:ops-opencl/target/classes:$JOCL_JAR
else
  echo "!! offline Maven build failed (no .m2-offline/ or ~/.m2 here?): compiling with javac; JUnit tests NOT run"
  [ -f "$JOCL_JAR" ] || { echo "no JOCL jar at '$JOCL_JAR': set JOCL_JAR=/path/to/jocl-2.0.5.jar"; exit 1; }
  OUT=target/gpu-check && rm -rf $OUT && mkdir -p $OUT
  "$JAVA_HOME/bin/javac" -nowarn --release 25 --add-modules jdk.incubator.vector -d $OUT -cp "$JOCL_JAR" \
      $(find core/src/main/java ops-cpu/src/main/java ops-opencl/src/main/java -name '*.java' 2>/dev/null) || exit 1
  for m in core ops-cpu ops-opencl; do [ -d $m/src/main/resources ] && cp -r $m/src/main/resources/. $OUT/; done
  CP=$OUT:$JOCL_JAR
fi

echo "== SimpleCNN, batch $BATCH, on $DEVICE =="
"$JAVA" $FLAGS -cp "$CP" dev.shears.opencl.OpenClThroughput --device "$DEVICE" --only opencl --batch "$BATCH" --steps "$STEPS" || exit 1
echo "== time per kernel (every launch waited for: slower than above) =="
"$JAVA" $FLAGS -Dshears.opencl.profile=true -cp "$CP" dev.shears.opencl.OpenClThroughput --device "$DEVICE" --only opencl \
    --batch "$BATCH" --steps 5 | sed -n '/time per kernel/,/inference/p'
echo "== the same on the CPU backend, 2 cores (taskset -c 0,1) =="
taskset -c 0,1 "$JAVA" $FLAGS -cp "$CP" dev.shears.opencl.OpenClThroughput --only cpu --batch "$BATCH" --cpu-steps "$CPU_STEPS"
