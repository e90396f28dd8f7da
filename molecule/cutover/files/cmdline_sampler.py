"""Sample every process's command line (what `ps -eo args` shows) five times a second until stopped.

Each distinct command line is written once to the output file, as it is first seen. No process is started per
sample, so the sampling does not disturb the host.

    python3 cmdline_sampler.py OUT
"""

import os
import sys
import time


def main() -> None:
    seen: set[str] = set()
    with open(sys.argv[1], "a", encoding="utf-8", errors="replace") as out:
        while True:
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as handle:
                        line = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
                except OSError:
                    continue
                if line and line not in seen:
                    seen.add(line)
                    out.write(line + "\n")
                    out.flush()
            time.sleep(0.2)


if __name__ == "__main__":
    main()
