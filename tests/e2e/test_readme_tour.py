"""The README's tour, run as a reader runs it: its ``sh`` blocks, in order, in
one bash shell opened in the repository, against a fresh ``trent serve``.

Each block's output (stdout and stderr, as a terminal shows them) is compared
with the ``json`` or ``text`` block that follows it in the README (none: it
must print nothing). Ids, blobs and times differ from run to run, so both
sides have them replaced by placeholders first; a ``…`` in the README stands
for any text within a line, and a line of ``…`` alone for any lines. Anything
else must be exactly as printed, so the README cannot drift from the code.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import TRENT, clean_env, serving

REPOSITORY = Path(__file__).resolve().parents[2]
README = REPOSITORY / "README.md"
TOUR_START = "## A five-minute tour"
TOUR_END = "## Where to read on"
#: What the tour's first block names for the server `make run` starts; the
#: test points them at its own server.
README_DATA_DIR = "TRENT_DATA_DIR=$PWD/var"
README_URL = "http://127.0.0.1:8080"
#: Tools a machine may lack; a block that calls one is skipped, with that reason.
OPTIONAL_TOOLS = ("aws", "openssl")
#: Tools every block may use: without them there is no tour to run.
REQUIRED_TOOLS = ("bash", "curl", "jq", "base64")

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_MARKER = "@@tour-block {}@@"
_SPLIT = re.compile(r"\n@@tour-block (\d+)@@\n")
_PLACEHOLDERS = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\b\d{10}\.\d+\b"), "<time>"),
    (re.compile(r"[A-Za-z0-9+/]{32,}={0,2}"), "<blob>"),
)


@dataclass(frozen=True)
class Block:
    index: int
    script: str
    expected: str

    @property
    def needs(self) -> str | None:
        """The optional tool this block calls, if any."""
        for tool in OPTIONAL_TOOLS:
            if re.search(rf"(^|[\s(]){tool}\s", self.script, re.MULTILINE):
                return tool
        return None

    @property
    def label(self) -> str:
        first = next(line for line in self.script.splitlines() if line.strip())
        return f"{self.index}: {first[:50]}"


def tour_blocks(readme: str) -> list[Block]:
    """The ``sh`` blocks between the tour's heading and "Where to read on",
    each with the output block right after it (only blank lines between)."""
    start, end = readme.index(TOUR_START), readme.index(TOUR_END)
    fences = list(_FENCE.finditer(readme, start, end))
    blocks = []
    for position, fence in enumerate(fences):
        if fence.group(1) != "sh":
            continue
        expected = ""
        following = fences[position + 1] if position + 1 < len(fences) else None
        if (
            following is not None
            and following.group(1) in ("json", "text")
            and not readme[fence.end() : following.start()].strip()
        ):
            expected = following.group(2)
        blocks.append(Block(len(blocks), fence.group(2), expected))
    return blocks


def normalise(text: str) -> str:
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    text = "\n".join(lines)
    for pattern, placeholder in _PLACEHOLDERS:
        text = pattern.sub(placeholder, text)
    return text


def matches(expected: str, actual: str) -> bool:
    """``actual`` is what ``expected`` shows, its ``…`` standing for any text."""
    expected, actual = normalise(expected), normalise(actual)
    if not expected:
        return not actual
    pattern = ""
    for line in expected.split("\n"):
        if line.strip() == "…":
            pattern += r"(?:[^\n]*\n)*"
        else:
            pattern += r"[^\n]*".join(re.escape(part) for part in line.split("…")) + "\n"
    return re.fullmatch(pattern, actual + "\n") is not None


BLOCKS = tour_blocks(README.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class TourRun:
    outputs: dict[int, str]
    missing: dict[int, str]


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TourRun]:
    venv_bin = str(Path(TRENT).parent)
    shell_env = clean_env(
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    shell_env["PATH"] = f"{venv_bin}:{shell_env.get('PATH', '/usr/bin:/bin')}"
    absent = [tool for tool in REQUIRED_TOOLS if shutil.which(tool, path=shell_env["PATH"]) is None]
    if absent:
        pytest.skip(f"the README's tour needs {', '.join(absent)}, not installed here")
    data_dir = tmp_path_factory.mktemp("tour") / "var"
    env = clean_env(TRENT_DATA_DIR=str(data_dir), TRENT_SCHEDULER_INTERVAL="0")
    subprocess.run([TRENT, "init"], env=env, check=True, capture_output=True)
    with serving(env, data_dir) as server:
        script, missing = ["exec 2>&1"], {}
        for block in BLOCKS:
            text = block.script
            if block.index == 0:
                # The first block sets up the second shell for `make run`'s server.
                assert text.count(README_DATA_DIR) == 1 and text.count(README_URL) == 1, text
                text = text.replace(README_DATA_DIR, f"TRENT_DATA_DIR={shlex.quote(str(data_dir))}")
                text = text.replace(README_URL, server.url)
            tool = block.needs
            if tool and shutil.which(tool, path=shell_env["PATH"]) is None:
                missing[block.index] = tool
                text = ":"
            script += [f"printf '\\n%s\\n' '{_MARKER.format(block.index)}'", text]
        ran = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=REPOSITORY,
            env=shell_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        parts = _SPLIT.split("\n" + ran.stdout)
        assert not parts[0].strip(), parts[0]
        outputs = {int(parts[i]): parts[i + 1] for i in range(1, len(parts), 2)}
        yield TourRun(outputs, missing)


def test_the_tour_has_blocks_with_output_to_check() -> None:
    assert len(BLOCKS) >= 8
    assert sum(1 for block in BLOCKS if block.expected) >= 8
    assert any("trent grants create" in block.script for block in BLOCKS)
    assert any("trent sign" in block.script for block in BLOCKS)
    assert any("access-key create --env" in block.script for block in BLOCKS)


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.label)
def test_a_tour_block_prints_what_the_readme_shows(tour: TourRun, block: Block) -> None:
    if block.index in tour.missing:
        pytest.skip(f"`{tour.missing[block.index]}` is not installed, so this step cannot run")
    assert block.index in tour.outputs, "the shell stopped before this block"
    actual = tour.outputs[block.index]
    assert matches(block.expected, actual), (
        f"README block {block.index}:\n{block.script}\nprinted:\n{actual}\n"
        f"where the README shows:\n{block.expected}"
    )


def test_the_comparison_tells_a_difference() -> None:
    shown = '{\n  "KeyId": "8746612e-3811-4a5b-a6bb-adf275c67797",\n  "Enabled": true\n}'
    other_id = shown.replace("8746612e", "0000aaaa")
    assert matches(shown, other_id)
    assert not matches(shown, shown.replace("true", "false"))
    assert not matches(shown, shown + "\nmore")
    assert matches("first\n…\nlast", "first\na\nb\nlast")
    assert matches("first\n…\nlast", "first\nlast")
    assert matches("events: … checked", "events: 14 checked")
    assert not matches("", "something")
