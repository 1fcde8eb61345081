"""Signed decisions: OpenSSH signatures (SSHSIG) made through the approver's ssh-agent.

The stock `ssh-keygen -Y sign|verify` does the cryptography, so that anyone can check a
decision later with the same tool and the inventory's keys, without this program.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from console.audit import NAMESPACE
from console.errors import ConsoleError


class SigningError(ConsoleError):
    """A decision could not be signed; the message says why."""


def sign(data: bytes, public_key: str) -> str:
    """Sign with the private half of `public_key` held by the ssh-agent at SSH_AUTH_SOCK."""
    if not os.environ.get("SSH_AUTH_SOCK"):
        raise SigningError("no ssh-agent is reachable (SSH_AUTH_SOCK is not set)")
    with tempfile.TemporaryDirectory(prefix="opsconsole-sign-") as folder:
        key = Path(folder) / "key.pub"
        key.write_text(public_key.strip() + "\n")
        result = _keygen(["-Y", "sign", "-U", "-n", NAMESPACE, "-f", str(key)], data)
    if result.returncode != 0 or b"BEGIN SSH SIGNATURE" not in result.stdout:
        why = result.stderr.decode(errors="replace").strip().splitlines()
        raise SigningError(
            f"ssh-agent did not sign with your key ({why[-1] if why else 'no reason given'})"
        )
    return result.stdout.decode()


def allowed_signers(keys: dict[str, str]) -> str:
    """An OpenSSH allowed_signers file: each operator's key, for this namespace only."""
    lines = [f'{name} namespaces="{NAMESPACE}" {key.strip()}' for name, key in sorted(keys.items())]
    return "\n".join(lines) + ("\n" if lines else "")


def verify(data: bytes, signature: str, signer: str, public_key: str) -> bool:
    """Whether `signature` is `signer`'s signature (by `public_key`) over `data`."""
    with tempfile.TemporaryDirectory(prefix="opsconsole-verify-") as folder:
        signers = Path(folder) / "allowed_signers"
        signers.write_text(allowed_signers({signer: public_key}))
        sig = Path(folder) / "decision.sig"
        sig.write_text(signature)
        args = ["-Y", "verify", "-f", str(signers), "-I", signer, "-n", NAMESPACE, "-s", str(sig)]
        return _keygen(args, data).returncode == 0


def _keygen(args: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["ssh-keygen", *args], input=data, capture_output=True, timeout=30)
    except FileNotFoundError:
        raise SigningError("ssh-keygen (OpenSSH) is not installed on this machine") from None
    except subprocess.TimeoutExpired:
        raise SigningError(
            "ssh-keygen did not answer within 30 s (is the agent asking for confirmation?)"
        ) from None
