"""Every command the demo prints runs as printed, in the shell that ran the demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.tools import require_tool

INSTALLED = Path(sys.executable).with_name("assay")


def _printed_commands(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Check it yourself"))
    return [line for line in lines[start + 1 :] if line and not line.startswith("#")]


def test_the_demos_check_commands_run_when_pasted_into_bash(tmp_path: Path) -> None:
    for tool in ("pdfsig", "certutil"):
        require_tool(tool)
    # As the README's quick start runs it: a relative path to the venv's script, no venv activated.
    program = os.path.relpath(INSTALLED, tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONWARNINGS")}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # no venv on PATH: `assay` alone would not be found
    demo = subprocess.run(
        [program, "demo", "--out", "assay-demo"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stderr
    assert demo.stderr == ""  # no library warning reaches the user
    commands = _printed_commands(demo.stdout)
    assert len(commands) == 7
    assert all(c.startswith(program + " ") for c in commands[:4])
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    assert "VALID: certificate ASSAY-" in _run(commands[0], tmp_path, env)
    assert "intact:" in _run(commands[1], tmp_path, env)
    assert "Next step: surveillance when due" in _run(commands[3], tmp_path, env)
    pdfsig = _run(commands[-1], tmp_path, env)
    assert "Signature is Valid." in pdfsig
    assert "Certificate is Trusted." in pdfsig


def _run(command: str, cwd: Path, env: dict[str, str]) -> str:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True).stdout


def test_a_command_started_as_a_module_prints_the_module_form() -> None:
    script = (
        "import sys; sys.argv = ['/x/assay/__main__.py']\n"
        "from assay.demo import invocation\n"
        "print(invocation())"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"{sys.executable} -m assay"


def test_the_readmes_commands_run_as_printed(tmp_path: Path) -> None:
    """The README's "Try more" block, run line by line with bash where a newcomer would: beside
    the checkout's .venv and examples/ (linked into a scratch folder so outputs land there)."""
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Try more", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 3
    (tmp_path / ".venv").symlink_to(INSTALLED.parent.parent)
    (tmp_path / "examples").symlink_to(root / "examples")
    outputs = []
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    assert "KPI performance - economy: level 3" in outputs[0]
    assert (tmp_path / "kestrelford-eval" / "itu-y4904" / "result.json").is_file()
    assert outputs[2].startswith("# Improvement plan")
