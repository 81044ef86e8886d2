import subprocess
import sys


def test_import_is_light_and_offline():
    # Importing the package must not need torch, start onnxruntime or touch the network.
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise RuntimeError('network access at import')\n"
        "socket.socket.connect = refuse\n"
        "import sunpy_dlmag, sunpy_dlmag.models, sunpy_dlmag.geometry\n"
        "sunpy_dlmag.list_models()\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'onnxruntime' not in sys.modules, 'onnxruntime imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
