#!/usr/bin/env bash
# Makes the PyTorch 2.13 (oneDNN) venv that benchmarks/compare.sh measures against, once:
#   bash benchmarks/torch-venv.sh [DIR]      (default ~/.cache/shears/torch213)
# From this machine kind's wheel (/opt/wheels/torch-2.13.0+cpu-*.whl), with Debian's numpy and friends through
# --system-site-packages. No package index is reachable here, so the few names torch 2.13 imports that Debian's
# typing_extensions 4.4 and sympy 1.11 lack are added to a venv-local copy of typing_extensions. The benchmarks
# run eager PyTorch only (no torch.compile), which never uses them. For benchmarks only, never for tests or CI.
set -euo pipefail
venv="${1:-$HOME/.cache/shears/torch213}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import torch, torch.optim; torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)' 2>/dev/null; then
  echo "$venv"; exit 0
fi
wheel="$(ls /opt/wheels/torch-2.13.0+cpu-*.whl 2>/dev/null | head -1)"
[ -n "$wheel" ] || { echo "torch-venv: no /opt/wheels/torch-2.13.0+cpu-*.whl on this machine" >&2; exit 1; }
/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install -q --no-index --no-deps "$wheel"
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cp /usr/lib/python3/dist-packages/typing_extensions.py "$site/typing_extensions.py"
cat >> "$site/typing_extensions.py" <<'PY'

# --- added by benchmarks/torch-venv.sh: names torch 2.13 imports that typing_extensions 4.4 lacks ---
if "deprecated" not in globals():
    class deprecated:
        def __init__(self, message, *, category=DeprecationWarning, stacklevel=1):
            self.message = message
        def __call__(self, arg):
            return arg
if "TypeIs" not in globals():
    TypeIs = TypeGuard
if "Buffer" not in globals():
    import collections.abc as _abc
    Buffer = getattr(_abc, "Buffer", object)
if "TypeAliasType" not in globals():
    class TypeAliasType:
        def __init__(self, name, value, *, type_params=()):
            self.__name__, self.__value__, self.__type_params__ = name, value, type_params
        def __getitem__(self, item):
            return self
# torch 2.13's dynamo (imported by torch.optim) needs sympy's equal_valued, newer than Debian's sympy 1.11
try:
    import sympy.core.numbers as _numbers
    if not hasattr(_numbers, "equal_valued"):
        def _equal_valued(x, y):
            from sympy import sympify
            return bool(sympify(x) == sympify(y))
        _numbers.equal_valued = _equal_valued
except ImportError:
    pass
PY
"$venv/bin/python" -c 'import torch, torch.optim; torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)' >&2
echo "$venv"
