"""Generate the hostile-input corpus for ingest (tests/data/hostile/) deterministically, from real posts.

Small cases are stored in the repository; the big ones (a 5 MB text, a zip bomb, 100,000 identical rows)
are generated at test time by the make_* functions below, into a temporary folder.

    .venv/bin/python tools/make_hostile.py            # (re)write tests/data/hostile/
    .venv/bin/python tools/make_hostile.py --out DIR  # somewhere else
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tests" / "data" / "hostile"
SHARED_DATA = Path(os.environ.get("OPINION_SHARED_DATA", REPO.parent / "shared" / "data"))
MANIFEST = "MANIFEST.json"  # exact texts the tests compare byte for byte (not a corpus case)
ZIP_TIME = (2026, 11, 20, 0, 0, 0)
BASE = pd.Timestamp("2026-11-01 08:00:00")
CANONICAL = ["post_id", "channel", "site", "url", "author_id", "text", "created_at", "like_count"]
YUQING = ["序号", "标题", "内容", "来源", "发布时间", "链接", "作者", "转发", "评论", "点赞"]


def real_texts(n: int = 200, offset: int = 0) -> list[str]:
    """Real posts from the shared dev set: GBK-encodable, 8-140 chars, first rows in file order."""
    dev = pd.read_csv(SHARED_DATA / "sentiment_dev.csv.gz", usecols=["text"], nrows=5000)
    picked = []
    for text in dev["text"].astype(str):
        if not 8 <= len(text) <= 140:
            continue
        try:
            text.encode("gbk")
        except UnicodeEncodeError:
            continue
        picked.append(text)
    return picked[offset:offset + n]


def _time(i: int) -> str:
    return (BASE + pd.Timedelta(minutes=13 * i)).strftime("%Y-%m-%d %H:%M:%S")


def canonical_rows(prefix: str, texts: list[str], start: int = 0) -> list[list[str]]:
    return [[f"{prefix}{start + i}", "微博", "新浪微博", f"https://weibo.com/{prefix}/{start + i}", f"user{i % 5}",
             text, _time(start + i), str(i * 3)] for i, text in enumerate(texts)]


def csv_text(header: list[str], rows: list[list], delimiter: str = ",", newline: str = "\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows([header, *rows])
    return buffer.getvalue()


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps and order so the corpus is byte-for-byte reproducible."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2026-11-20T00:00:00Z", content)
            target.writestr(zipfile.ZipInfo(info.filename, ZIP_TIME), content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xlsx_bytes(rows: list[list], merges: tuple[str, ...] = (), text_cells: bool = False) -> bytes:
    """A one-sheet workbook; text_cells keeps strings starting with '=' as text, not formulas."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "导出数据"
    for row in rows:
        sheet.append(row)
    if text_cells:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
    for ref in merges:
        sheet.merge_cells(ref)
    fixed = datetime(2026, 11, 20)
    workbook.properties.created = workbook.properties.modified = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _deterministic_zip(buffer.getvalue())


def excel_serial(stamp: pd.Timestamp) -> float:
    return (stamp - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)


# -- the stored corpus -------------------------------------------------------------------------------
def corpus() -> tuple[dict[str, bytes], dict[str, dict[str, str]]]:
    """{file name: bytes} and {file name: {post_id: exact text}} for every stored case."""
    texts = real_texts(200)
    files: dict[str, bytes] = {}
    exact: dict[str, dict[str, str]] = {}

    def plain(name: str, prefix: str, chunk: list[str], encoding: str = "utf-8", delimiter: str = ",",
              extra_texts: tuple[str, ...] = ()) -> None:
        rows = canonical_rows(prefix, [*chunk, *extra_texts])
        files[name] = csv_text(CANONICAL, rows, delimiter).encode(encoding)
        exact[name] = {row[0]: row[5] for row in rows}

    plain("utf8.csv", "u8-", texts[0:5])
    plain("utf8_bom.csv", "bom-", texts[5:10], encoding="utf-8-sig")
    plain("gbk.csv", "gbk-", texts[10:15], encoding="gbk")
    plain("gb18030_ext_b.csv", "gb-", texts[15:18], encoding="gb18030",
          extra_texts=("扩展B区罕见字：𠀀 𪚥 𠮷 和表情 😂👍🏽", "GBK 没有的字：𪚥𪚥 仍应原样保存"))
    exact["utf16le_bom.tsv"] = {r[0]: r[5] for r in canonical_rows("le-", texts[18:23])}
    files["utf16le_bom.tsv"] = b"\xff\xfe" + csv_text(CANONICAL, canonical_rows("le-", texts[18:23]),
                                                     "\t").encode("utf-16-le")  # Excel "Unicode text"
    files["utf16be_bom.csv"] = b"\xfe\xff" + csv_text(CANONICAL, canonical_rows("be-", texts[23:28])).encode(
        "utf-16-be")
    exact["utf16be_bom.csv"] = {r[0]: r[5] for r in canonical_rows("be-", texts[23:28])}
    files["utf16le_nobom.csv"] = csv_text(CANONICAL, canonical_rows("nb-", texts[28:31])).encode("utf-16-le")
    exact["utf16le_nobom.csv"] = {r[0]: r[5] for r in canonical_rows("nb-", texts[28:31])}

    # Mixed line endings between records, and a quoted field that keeps its own \r\n.
    rows = canonical_rows("nl-", [*texts[31:35], "第一行\r\n第二行\n第三行\r第四行"])
    lines = [csv_text(record, [])[:-1] for record in [CANONICAL, *rows]]  # each record without its "\n"
    endings = ["\r\n", "\n", "\r"]
    body = "".join(line + endings[i % 3] for i, line in enumerate(lines))
    files["mixed_newlines.csv"] = body.encode()
    exact["mixed_newlines.csv"] = {r[0]: r[5] for r in rows}

    plain("nul_bytes.csv", "nul-", texts[36:38], extra_texts=("字段中间\x00有空字节", "\x00开头和结尾\x00"))

    rows = canonical_rows("dt-", texts[40:46])
    for row, value in zip(rows[1:], ["昨天下午", "03/04/2026", "2099-01-01 00:00:00", "", "1999-12-31 23:00"],
                          strict=True):
        row[6] = value
    files["dates_bad.csv"] = csv_text(CANONICAL, rows).encode()

    rows = canonical_rows("tz-", texts[46:50])
    for row, value in zip(rows, ["2026-11-01T08:00:00+08:00", "2026-11-01T00:00:00Z",
                                 "2026-10-31T19:00:00-05:00", "2026-11-01 08:00:00"], strict=True):
        row[6] = value
    files["timezones.csv"] = csv_text(CANONICAL, rows).encode()

    # Excel dates: serial numbers (general format) and real date cells.
    rows = canonical_rows("xd-", texts[50:54])
    for i, row in enumerate(rows):
        stamp = BASE + pd.Timedelta(hours=i)
        row[6] = excel_serial(stamp) if i % 2 == 0 else stamp.to_pydatetime()
        row[7] = i  # counts as numbers
    files["excel_dates.xlsx"] = xlsx_bytes([CANONICAL, *rows])
    exact["excel_dates.xlsx"] = {r[0]: r[5] for r in rows}

    rows = canonical_rows("dup-", texts[54:58])
    repeated = [rows[0][:5] + [texts[60]] + rows[0][6:], rows[1][:5] + [texts[61]] + rows[1][6:]]
    files["dup_ids.csv"] = csv_text(CANONICAL, [rows[0], rows[1], repeated[0], rows[2], repeated[1], rows[3]]).encode()

    files["dup_across_a.csv"] = csv_text(CANONICAL, canonical_rows("x-", texts[62:67])).encode()
    files["dup_across_b.csv"] = csv_text(CANONICAL, canonical_rows("x-", texts[64:69], start=2)).encode()

    files["missing_required.csv"] = csv_text(["post_id", "channel", "text"],
                                             [[f"m{i}", "微博", t] for i, t in enumerate(texts[70:73])]).encode()
    files["missing_optional.csv"] = csv_text(["内容", "发布时间", "来源"],
                                             [[t, _time(i), "微博"] for i, t in enumerate(texts[73:76])]).encode()
    rows = [row + ["多余列", "x"] for row in canonical_rows("ex-", texts[76:80])]
    rows.append(canonical_rows("ex-", texts[80:81], start=9)[0] + ["多余列", "x", "表头外的值"])
    files["extra_columns.csv"] = csv_text([*CANONICAL, "内部备注", "Unnamed"], rows).encode()

    # A typical 舆情 system Excel export: title row (merged), blank row, then the header.
    yuqing_rows = [[i + 1, f"标题{i + 1}", t, "新浪微博" if i % 2 else "微博", _time(i),
                    f"https://example.cn/a/{i}", f"作者{i}", i, i * 2, i * 3] for i, t in enumerate(texts[82:88])]
    yuqing_rows[3][4] = "2026年13月45日"  # one bad date: its quarantine line must be the Excel row number (7)
    files["title_row.xlsx"] = xlsx_bytes([["舆情信息导出 2026-11-20"], [], YUQING, *yuqing_rows],
                                         merges=("A1:J1",))
    exact["title_row.xlsx"] = {}
    files["title_row.csv"] = csv_text(YUQING, [[str(v) for v in r] for r in yuqing_rows]).replace(
        "序号,", "舆情信息导出 2026-11-20\r\n\r\n序号,", 1).encode("utf-8-sig")

    # Merged cells: 来源 and 发布时间 merged down three rows, value only in the top-left cell.
    merged = [[i + 1, f"标题{i}", t, "新浪微博" if i % 3 == 0 else None, _time(i) if i % 3 == 0 else None,
               f"https://example.cn/m/{i}", "记者", 0, 0, 0] for i, t in enumerate(texts[90:96])]
    files["merged_cells.xlsx"] = xlsx_bytes([YUQING, *merged], merges=("D2:D4", "E2:E4", "D5:D7", "E5:E7"))

    # Lying extensions.
    plain("really_csv.xlsx", "lie-c-", texts[96:99])
    rows = canonical_rows("lie-x-", texts[99:102])
    files["really_xlsx.csv"] = xlsx_bytes([CANONICAL, *rows])
    exact["really_xlsx.csv"] = {r[0]: r[5] for r in rows}

    # Truncated files.
    whole = xlsx_bytes([CANONICAL, *canonical_rows("tr-", texts[102:110])])
    files["truncated.xlsx"] = whole[: len(whole) // 2]
    rows = canonical_rows("tu-", [*texts[110:113], "最后一行被截断在多字节字符中间：舆情"])
    encoded = csv_text(CANONICAL, rows).rstrip("\n").encode()
    encoded = encoded[: encoded.rindex("舆情".encode()) + 4]  # 舆 whole, 情 cut after its first byte
    files["truncated_utf8.csv"] = encoded
    records = [dict(zip(CANONICAL, r, strict=True)) for r in canonical_rows("tj-", texts[114:118])]
    whole_json = json.dumps(records, ensure_ascii=False).encode()
    files["truncated.json"] = whole_json[: len(whole_json) * 2 // 3]
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    jsonl = "\n".join(lines).encode()
    files["truncated.jsonl"] = jsonl[: len(jsonl) - 10]

    # Formula-looking cells (CSV injection), markup, SQL, emoji.
    formula_texts = ["=HYPERLINK(\"http://evil.example\",\"点击\")", "+1+2 市民来电", "-2+3 反映问题",
                     "@SUM(A1:A9)", "=cmd|' /C calc'!A0"]
    rows = canonical_rows("fx-", formula_texts)
    for row, author in zip(rows, ["=author", "+86 138", "-user", "@官方", "甲"], strict=True):
        row[4] = author
    rows[4][7] = "=1+1"  # a formula in a count column is not a count
    files["formulas.csv"] = csv_text(CANONICAL, rows).encode()
    exact["formulas.csv"] = {r[0]: r[5] for r in rows[:4]}
    rows = canonical_rows("fxx-", formula_texts)
    files["formulas.xlsx"] = xlsx_bytes([CANONICAL, *rows], text_cells=True)
    exact["formulas.xlsx"] = {r[0]: r[5] for r in rows}

    plain("markup.csv", "mk-", [], extra_texts=(
        "<script>alert('xss')</script>小区停水三天", "<img src=x onerror=alert(1)>物业不作为",
        "**加粗** _斜体_ [链接](javascript:alert(1)) # 标题", ":red[紧急] :blue-background[通知] 河道污染",
        "价格从 $5$ 涨到 $10$，\\$ 美元符号", "<div style=\"position:fixed\">遮罩</div>", "`代码` ~~删除~~ > 引用"))
    plain("sql.csv", "sq-", [], extra_texts=(
        "'; DROP TABLE posts; --", "1' OR '1'='1", "Robert'); DELETE FROM quarantine; --",
        "\"; SELECT * FROM ingest_batches; --"))
    files["sql.csv"] = files["sql.csv"].replace(b"sq-0,", b"'; DROP TABLE posts; --,", 1)
    exact["sql.csv"]["'; DROP TABLE posts; --"] = exact["sql.csv"].pop("sq-0")
    plain("emoji_ext_b.csv", "em-", texts[120:122], extra_texts=(
        "😀😂🤣 表情 👨‍👩‍👧‍👦 家庭 🏳️‍🌈 旗帜", "扩展B：𠀀𠀁𠀂 𪚥 𠮷野家 𡃁", "变体选择符 ︎☺️ 和组合字符 é",
        "\u200b零宽空格\u200d与\ufeff字节序标记"))

    # Files that cannot be read at all.
    rng = random.Random(7)
    files["garbage.csv"] = bytes(rng.randrange(256) for _ in range(4096))
    files["empty.csv"] = b""
    files["header_only.csv"] = (",".join(CANONICAL) + "\r\n").encode()
    files["legacy.xls"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    files["not_objects.json"] = b"[1, 2, 3]"
    files["unknown_layout.csv"] = csv_text(["foo", "bar"], [["1", "2"]]).encode()
    return files, exact


def build_corpus(out_dir: Path = DEFAULT_OUT) -> list[Path]:
    """Write every stored case plus MANIFEST.json; returns the case files written."""
    files, exact = corpus()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in sorted(files.items()):
        (out_dir / name).write_bytes(data)
        written.append(out_dir / name)
    (out_dir / MANIFEST).write_text(json.dumps({"exact_texts": exact}, ensure_ascii=False, indent=1,
                                               sort_keys=True) + "\n", encoding="utf-8")
    return written


# -- generated at test time ----------------------------------------------------------------------------
def make_big_text(out_dir: Path, size_bytes: int = 5 * 1024 * 1024) -> tuple[Path, str]:
    """A CSV with one ~5 MB text (real posts repeated) and one ordinary row."""
    texts = real_texts(40)
    unit = "".join(texts)
    big = (unit * (size_bytes // len(unit.encode()) + 1))
    while len(big.encode()) > size_bytes:
        big = big[: len(big) - max(1, (len(big.encode()) - size_bytes) // 3)]
    rows = canonical_rows("big-", [big, texts[0]])
    path = out_dir / "big_text.csv"
    path.write_bytes(csv_text(CANONICAL, rows).encode())
    return path, big


def make_zip_bomb(out_dir: Path, inflated_mb: int = 200) -> Path:
    """A valid-looking XLSX whose sheet XML inflates to `inflated_mb` MB from well under 1 MB."""
    template = zipfile.ZipFile(io.BytesIO(xlsx_bytes([CANONICAL, *canonical_rows("zb-", real_texts(2))])))
    path = out_dir / "bomb.xlsx"
    row = b'<row><c t="inlineStr"><is><t>' + b"A" * 1000 + b"</t></is></c></row>"
    chunk = row * (1024 * 1024 // len(row))  # whole rows, about 1 MB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for info in template.infolist():
            member = zipfile.ZipInfo(info.filename, ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            if not info.filename.startswith("xl/worksheets/sheet"):
                bomb.writestr(member, template.read(info.filename))
                continue
            with bomb.open(member, "w", force_zip64=True) as sheet:
                sheet.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                            b'spreadsheetml/2006/main"><sheetData>')
                for _ in range(inflated_mb):
                    sheet.write(chunk)
                sheet.write(b"</sheetData></worksheet>")
    return path


def make_identical_rows(out_dir: Path, n: int = 100_000) -> Path:
    """n copies of one real post (same id, text, time): one insert, n - 1 duplicates."""
    row = canonical_rows("same-", real_texts(1))[0]
    path = out_dir / "identical.csv"
    path.write_bytes(csv_text(CANONICAL, [row] * n).encode())
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    written = build_corpus(args.out)
    total = sum(p.stat().st_size for p in written)
    print(f"{len(written)} files, {total / 1024:.1f} KB in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
