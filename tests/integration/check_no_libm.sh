#!/usr/bin/env bash
# Determinism guard (ARCHITECTURE.md section 5): liblattice_common must not
# call libm's transcendentals; workers on other C libraries would disagree.
# floor, fmod, sqrt and fabs are exact in IEEE-754 and allowed.
# Usage: check_no_libm.sh LIBLATTICE_COMMON.a
set -euo pipefail
lib=$1
bad=$(nm -u "$lib" | awk '{print $2}' | grep -xE \
    '(sin|cos|tan|exp|exp2|expm1|log|log2|log10|log1p|pow|atan|atan2|asin|acos|sinh|cosh|tanh|cbrt|hypot|sincos)[fl]?' \
    | sort -u || true)
if [[ -n "$bad" ]]; then
    echo "liblattice_common calls libm transcendentals: $bad" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
echo "1 passed, 0 failed"
