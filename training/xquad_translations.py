"""Write training/data/xquad-questions.json: XQuAD's questions in its other languages, by id.

    .venv/bin/python training/xquad_translations.py PATH_TO_XQUAD_CHECKOUT

XQuAD is fully parallel: every question has the same id in all eleven languages, and
../shared/data holds only the English and Vietnamese files. The other languages' questions,
asked over the Vietnamese paragraphs with the Vietnamese answer span, are more ways of asking
the same thing; the trainer can add them (train_reader.py --question-languages). Only the
questions are kept (the paragraphs and answers are the Vietnamese ones already in shared/), so
the file is ~1 MB rather than the ~12 MB of the source files.

Source: https://github.com/google-deepmind/xquad at commit 7d30520c717524000f0d9d2f9c10a069acd9d285
(CC BY-SA 4.0, Artetxe, Ruder and Yogatama 2020). training/data/README.md says the same.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

LANGUAGES = ("ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "zh")
OUT = Path(__file__).resolve().parent / "data" / "xquad-questions.json"


def questions(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return {qa["id"]: qa["question"].strip() for article in data for p in article["paragraphs"] for qa in p["qas"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("xquad", type=Path, help="a folder with xquad.<language>.json (a checkout of google-deepmind/xquad)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    out = {language: questions(args.xquad / f"xquad.{language}.json") for language in LANGUAGES}
    ids = {frozenset(q) for q in out.values()}
    if len(ids) != 1:
        raise SystemExit("The languages' question ids differ: is this XQuAD?")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(LANGUAGES)} languages x {len(next(iter(out.values())))} questions, {args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
