#!/usr/bin/env bash
# Remakes every picture in book/images from fresh runs of the programs the
# pages describe. Run from anywhere: `bash book/images/make.sh`.
#
# - Flame graphs: each program writes its own full-size flame graph beside
#   its profile (1200 px, zoom and search: what a learner opens in a browser
#   tab); that file is copied as day-NNN-…-full.svg, and the profile is drawn
#   again for the page's text column (575 px, the program's own frames) by
#   `cargo run -p labkit --example book_picture`.
# - Day 090: the trace as a timeline at column width (all four threads on one
#   time axis), and screenshots of the same trace in speedscope (the npm
#   package, served on 127.0.0.1 and driven by headless Chromium through
#   puppeteer-core; see speedscope-shot.mjs). Needs node, npm and chromium
#   (Debian: `apt-get install chromium fonts-noto-color-emoji`); set
#   SKIP_SPEEDSCOPE=1 to keep the PNGs as they are.
#
# Profiles are sampled, so a remade CPU flame graph differs a little from run
# to run; its shape (which tower is wider) is what the pages describe.
set -euo pipefail
cd "$(dirname "$0")/../.."
images=book/images
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Builds and runs one package with `--out DIR`; its closing lines go to the
# terminal, so a run that went wrong says so.
run() {
  mkdir -p "$tmp/$1"
  cargo run -q -p "$1" -- --out "$tmp/$1" >"$tmp/$1.log" 2>&1 || {
    cat "$tmp/$1.log" >&2
    echo "make.sh: $1 failed (its output is above)" >&2
    exit 1
  }
}

# picture NAME PROFILE TITLE: the column picture NAME.svg from PROFILE, and
# the program's own flame graph (PROFILE's .svg twin) as NAME-full.svg.
picture() {
  cargo run -q -p labkit --example book_picture -- "$2" "$images/$1.svg" "$3"
  cp "${2%.pb.gz}.svg" "$images/$1-full.svg"
}

# by_label NAME PROFILE TITLE KEY: NAME.svg and NAME-full.svg, each stack
# standing on its value of the profiler label KEY (go tool pprof -tagroot).
by_label() {
  cargo run -q -p labkit --example book_picture -- "$2" "$images/$1.svg" "$3" --tagroot "$4"
  cargo run -q -p labkit --example book_picture -- "$2" "$images/$1-full.svg" "$3" --tagroot "$4" --full
}

for p in solution-080 solution-082 solution-083 solution-085 lab-086 solution-086 solution-090 \
  lab-095 solution-095; do
  run "$p"
done

picture day-080-cpu "$tmp/solution-080/cpu.pb.gz" "Day 080 solution: CPU samples"
picture day-082-cpu "$tmp/solution-082/partitioned/cpu.pb.gz" "Day 082 solution, partitioned run: CPU"
picture day-083-cpu "$tmp/solution-083/cpu.pb.gz" "Day 083 solution: CPU samples"
picture day-085-block "$tmp/solution-085/block.pb.gz" "Day 085 solution: block profile (delay)"
picture day-086-lab-mutex "$tmp/lab-086/mutex.pb.gz" "Day 086 lab: mutex profile (delay)"
picture day-086-solution-mutex "$tmp/solution-086/mutex.pb.gz" "Day 086 solution: mutex profile (delay)"
by_label day-095-lab-cpu "$tmp/lab-095/cpu.pb.gz" "Day 095 lab: CPU by the kind label" kind
by_label day-095-solution-cpu "$tmp/solution-095/cpu.pb.gz" "Day 095 solution: CPU by the kind label" kind
cargo run -q -p labkit --example book_picture -- \
  "$tmp/solution-090/trace.json" "$images/day-090-trace.svg" ""

if [ "${SKIP_SPEEDSCOPE:-}" != 1 ]; then
  # Pinned versions: the screenshots show what these draw.
  npm install --prefix "$tmp/npm" --no-save --no-audit --no-fund \
    speedscope@1.25.0 puppeteer-core@24.43.1 >/dev/null
  cp "$images/speedscope-shot.mjs" "$tmp/npm/"
  node "$tmp/npm/speedscope-shot.mjs" "$tmp/npm/node_modules/speedscope/dist/release" \
    "$tmp/solution-090/trace.json" "$images/day-090-speedscope" consumer worker-0
fi
echo "make.sh: pictures remade in $images"
