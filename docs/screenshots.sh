#!/usr/bin/env bash
# Screenshots of a run's two pages (index.html, report/report.html) with Debian's headless
# chromium, as they read at 100 % zoom on a 1400 px wide window: the check the docs' pictures
# come from. Needs: apt-get install chromium.
#
#   hypersync-slo demo --out reports/demo --duration 30s --service-arg='--fault-latency 0.02:0.6'
#   docs/screenshots.sh reports/demo docs/img
set -euo pipefail
run=${1:?usage: docs/screenshots.sh RUN_DIR [OUT_DIR]}
out=${2:-docs/img}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "chromium is not installed: apt-get install chromium" >&2; exit 8; }
mkdir -p "$out"
shot() {  # page, picture, window size
  # --no-sandbox: Chromium refuses to run as root otherwise (CI containers run as root).
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$3" \
    --screenshot="$out/$2" "file://$(realpath "$run/$1")" >/dev/null 2>&1
  echo "$out/$2"
}
shot index.html run-index.png 1400,2300
shot report/report.html report.png 1400,5400
# 256-colour PNGs (a third of the size, same look) when Pillow is at hand (matplotlib brings it).
"${PYTHON:-python3}" - "$out/run-index.png" "$out/report.png" <<'PY' 2>/dev/null || true
import sys
from PIL import Image
for path in sys.argv[1:]:
    Image.open(path).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        path, optimize=True
    )
PY
