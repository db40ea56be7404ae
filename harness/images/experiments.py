"""The layer experiments of the classroom notes (exp1-exp4), as Dockerfiles on any base."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ADDED_FILE = "1.txt"
ADDED_TEXT = "added by exp2\n"


@dataclass(frozen=True)
class Experiment:
    name: str
    body: str  # the Dockerfile after FROM, exactly as in the notes
    layers_added: int  # what the notes teach: ADD/COPY and each RUN add one layer
    files: dict[str, str]  # path -> content a container of the image must see

    def dockerfile(self, base: str) -> str:
        return f"FROM {base}\n{self.body}"

    def write_context(self, directory: Path, base: str) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "Dockerfile").write_text(self.dockerfile(base))
        (directory / ADDED_FILE).write_text(ADDED_TEXT)
        return directory


_CMD = 'CMD ["sleep", "1d"]\n'
_THREE_FILES = {"/1.txt": "one\n", "/2.txt": "two\n", "/3.txt": "three\n"}

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment("exp1", "label author=khaja\n" + _CMD, 0, {}),
        Experiment("exp2", "label author=khaaja\nADD 1.txt /\n" + _CMD, 1, {"/1.txt": ADDED_TEXT}),
        Experiment(
            "exp3",
            'label author=khaaja\nRUN echo "one" > 1.txt\nRUN echo "two" > 2.txt\n'
            'RUN echo "three" > 3.txt\n' + _CMD,
            3,
            _THREE_FILES,
        ),
        Experiment(
            "exp4",
            'label author=khaaja\nRUN echo "one" > 1.txt && \\\n  echo "two" > 2.txt && \\\n'
            '  echo "three" > 3.txt\n' + _CMD,
            1,
            _THREE_FILES,
        ),
    )
}

# Not in the notes: exp3 with a different last step, to show that identical steps share layers.
EXP3_VARIANT = Experiment(
    "exp3-variant",
    'label author=khaaja\nRUN echo "one" > 1.txt\nRUN echo "two" > 2.txt\n'
    'RUN echo "four" > 4.txt\n' + _CMD,
    3,
    {"/1.txt": "one\n", "/2.txt": "two\n", "/4.txt": "four\n"},
)
