"""The local AWS emulator: moto's server with this project's extensions (wm_emulator/).

Run by `make emulator-start` with the emulator's own virtual environment
(.venv-emulator): `python emulator/server.py --port 5055`. Listens on 127.0.0.1 only.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import wm_emulator
from moto.server import main

if __name__ == "__main__":
    # State machines' sns:publish and aws-sdk tasks call the emulator back on its own port.
    args = sys.argv[1:]
    port = args[args.index("--port") + 1] if "--port" in args else "5000"
    os.environ["MOTO_PORT"] = port
    print("weekly-models emulator: extensions for", ", ".join(wm_emulator.install()), flush=True)
    main(["--host", "127.0.0.1", *sys.argv[1:]])
