"""Monitoring schemes: the expression language against an independent evaluation on real posts, malformed input,
preview = what saving tags, and tagging at import on a fresh database built from an office's own export."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from analysis import config, schemes, text, topics
from analysis.store import Store
from tests import own_data
from tests.conftest import REPO_ROOT, shared_file


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def posts() -> pd.DataFrame:
    """3,000 real posts and reviews (hotel, food delivery, Weibo), normalized as stored."""
    dev = pd.read_csv(shared_file("sentiment_dev.csv.gz")).sample(n=3000, random_state=5).reset_index(drop=True)
    dev["norm"] = [t.casefold() for t in text.normalize_many(dev["text"].tolist())]
    return dev


def has(frame: pd.DataFrame, word: str) -> pd.Series:
    return frame["norm"].str.contains(word, regex=False)


# Each expression beside the same condition written as pandas masks: an evaluation that shares no code with ours.
CASES = {
    "酒店+前台|外卖+慢": lambda f: (has(f, "酒店") & has(f, "前台")) | (has(f, "外卖") & has(f, "慢")),
    "房间+(干净|整洁)-噪音": lambda f: has(f, "房间") & (has(f, "干净") | has(f, "整洁")) & ~has(f, "噪音"),
    "外卖＋（送餐｜配送）－超时": lambda f: has(f, "外卖") & (has(f, "送餐") | has(f, "配送")) & ~has(f, "超时"),
    "味道|服务+态度-好": lambda f: has(f, "味道") | (has(f, "服务") & has(f, "态度") & ~has(f, "好")),
    "-(好吃|不错)+早餐": lambda f: ~(has(f, "好吃") | has(f, "不错")) & has(f, "早餐"),
    "酒店+--前台": lambda f: has(f, "酒店") & has(f, "前台"),
    '"性价比 "|"a+b"|性价比': lambda f: has(f, "性价比 ") | has(f, "a+b") | has(f, "性价比"),
    "ＷＩＦＩ|网速|网络": lambda f: has(f, "wifi") | has(f, "网速") | has(f, "网络"),
    "送餐-(快|准时)|(速度+慢)": lambda f: (has(f, "送餐") & ~(has(f, "快") | has(f, "准时")))
    | (has(f, "速度") & has(f, "慢")),
}


@pytest.mark.parametrize("expression", list(CASES))
def test_expressions_match_an_independent_evaluation_on_real_posts(posts, expression):
    expected = CASES[expression](posts)
    matched = schemes.Matcher([schemes.Scheme("s", expression)]).match(
        [None] * len(posts), posts["text"].map(text.normalize).tolist(), ["微博"] * len(posts))
    got = pd.Series([m == ["s"] for m in matched])
    assert expected.sum() >= 5  # every case is exercised by real posts
    assert (got == expected).all(), posts.loc[got != expected, "text"].head(3).tolist()


def test_precedence_full_width_forms_and_phrases_parse_as_documented():
    assert schemes.parse("学校+食堂|过期+肉") == schemes.parse("(学校+食堂)|(过期+肉)")
    assert schemes.parse("Ａ＋（Ｂ｜Ｃ）－Ｄ") == schemes.parse("a+(b|c)-d") == (
        "and", (("term", "a"), ("or", (("term", "b"), ("term", "c"))), ("not", ("term", "d"))))
    assert schemes.parse('“食品 安全”|"1+1"') == ("or", (("term", "食品 安全"), ("term", "1+1")))
    assert schemes.parse("-廣告") == ("not", ("term", "广告"))  # traditional → simplified like the texts


@pytest.mark.parametrize(("expression", "position", "problem"), [
    ("", 1, "为空"),
    ("学校+", 4, "缺少关键词"),
    ("(学校|食堂", 7, "缺少右括号"),
    ("学校)", 3, "多了一个右括号"),
    ("学校 食堂", 4, "缺少运算符"),
    ('"食品安全', 1, "引号没有配对"),
    ("学校+()", 5, "缺少关键词"),
    ("|学校", 1, "缺少关键词"),
    ('学校+""', 4, "引号内为空"),
])
def test_malformed_expressions_are_refused_pointing_at_the_position(expression, position, problem):
    with pytest.raises(schemes.ExpressionError) as caught:
        schemes.parse(expression)
    assert caught.value.position == position
    assert f"表达式第{position}个字符处" in str(caught.value) and problem in str(caught.value)


def test_the_form_builds_the_common_expression():
    built = schemes.build_expression(["城关镇", "城关"], ["一中", "实验小学"], ["食堂", "食物中毒"], ["招聘"])
    assert built == "(城关镇|城关)+(一中|实验小学)+(食堂|食物中毒)-招聘"
    assert schemes.build_expression(["a b"], [], ["c"], []) == '"a b"+c'
    assert schemes.parse(built) == schemes.parse("(城关镇|城关)+(一中|实验小学)+(食堂|食物中毒)+-招聘")


def test_default_schemes_tag_exactly_as_the_builtin_dictionary(posts):
    normalized = posts["text"].map(text.normalize).tolist()
    by_schemes = schemes.Matcher(schemes.default_schemes()).match([None] * len(posts), normalized,
                                                                  ["微博"] * len(posts))
    assert by_schemes == topics.assign_topics(normalized)
    assert sum(1 for t in by_schemes if t) > 300


def test_scope_and_channels_limit_a_scheme():
    matcher = schemes.Matcher([schemes.Scheme("标题", "停电", scope="title"),
                               schemes.Scheme("正文", "停电", scope="text"),
                               schemes.Scheme("贴吧", "停电", channels=("贴吧",))])
    got = matcher.match(["小区停电", None, "通知"], ["", "今晚停电", "停电"], ["微博", "贴吧", "微博"])
    assert got == [["标题"], ["正文", "贴吧"], ["正文"]]


def test_a_narrow_scheme_comes_before_the_broad_topics_a_post_also_matches():
    county = schemes.Scheme("城关校园食品", "(城关|城关镇)+(学校|一中)+(食堂|变质|食物中毒)")
    post = "城关一中食堂饭菜变质，学生食物中毒，家长：学校食堂卫生谁来管"
    (got,) = schemes.Matcher([*schemes.default_schemes(), county]).match([None], [post], ["微博"])
    assert got[0] == "城关校园食品" and set(got[1:]) == {"教育", "食品药品"}


# -- on a database -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def own_db(tmp_path_factory):
    """A fresh database holding an office's own export, imported through the CLI."""
    folder = tmp_path_factory.mktemp("schemes")
    export = folder / "舆情导出.csv"
    clock = own_data.rule_clock()
    own_data.write_export(export, clock)
    db = folder / "own.duckdb"
    done = cli("ingest", str(export), "--db", str(db))
    assert done.returncode == 0, done.stderr
    return {"db": db, "folder": folder, "clock": clock}


def test_a_new_database_starts_with_the_dictionary_as_schemes(own_db):
    with Store(own_db["db"], read_only=True) as store:
        assert schemes.load(store) == schemes.default_schemes()
        stored = store.query("SELECT topic FROM posts")["topic"].value_counts()
    assert stored["食品药品"] >= own_data.BURST_POSTS * 0.9
    listed = json.loads(cli("schemes", "list", "--db", str(own_db["db"]), "--json").stdout)
    assert [s["name"] for s in listed] == list(topics.TOPIC_KEYWORDS)


def test_preview_is_what_saving_tags_and_new_imports_are_tagged(own_db, tmp_path):
    import shutil

    db = tmp_path / "own.duckdb"
    shutil.copy(own_db["db"], db)
    expression = "吃出|(变质|发霉)+(饭|菜|肉)-好吃"
    shown = cli("schemes", "test", "--expr", expression, "--db", str(db), "--json")
    assert shown.returncode == 0, shown.stderr
    preview = json.loads(shown.stdout)
    assert len(preview["by_day"]) == 30 and sum(preview["by_day"].values()) == preview["hits"] >= 5
    assert len(preview["sample"]) == min(preview["hits"], schemes.SAMPLE_POSTS)
    with Store(db, read_only=True) as store:  # the independent count: plain SQL substring search
        expected = store.query(
            "SELECT post_id FROM posts WHERE (strpos(lower(text_norm), '吃出') > 0 OR "
            "((strpos(text_norm, '变质') > 0 OR strpos(text_norm, '发霉') > 0) AND (strpos(text_norm, '饭') > 0 "
            "OR strpos(text_norm, '菜') > 0 OR strpos(text_norm, '肉') > 0) AND strpos(text_norm, '好吃') = 0)) "
            "OR (strpos(coalesce(title, ''), '吃出') > 0)")
    assert preview["hits"] == len(expected)

    added = cli("schemes", "add", "本县餐饮", "--expr", expression, "--db", str(db), "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["saved"]["owner"] == "命令行"
    with Store(db, read_only=True) as store:
        tagged = store.query("SELECT post_id, created_at FROM posts WHERE list_contains(topics, '本县餐饮')")
    assert set(tagged["post_id"]) == set(expected["post_id"])

    # a later export of the same office: its new posts are tagged at import by the current schemes
    later = tmp_path / "later.csv"
    frame = own_data.export_frame(own_db["clock"] + pd.Timedelta(hours=2), seed=9)
    frame["序号"] += 10_000
    frame.to_csv(later, index=False, encoding="utf-8-sig")
    assert cli("ingest", str(later), "--db", str(db)).returncode == 0
    with Store(db, read_only=True) as store:
        fresh = store.query("SELECT title, text_norm, channel, topics FROM posts WHERE batch_id = "
                            "(SELECT batch_id FROM ingest_batches ORDER BY finished_at DESC LIMIT 1)")
    assert len(fresh)
    wanted = schemes.Matcher([schemes.Scheme("本县餐饮", expression)]).match(
        text.normalize_many(fresh["title"].tolist()), fresh["text_norm"].tolist(), fresh["channel"].tolist())
    assert [("本县餐饮" in list(t)) for t in fresh["topics"]] == [bool(w) for w in wanted]
    assert any(bool(w) for w in wanted)

    removed = cli("schemes", "remove", "本县餐饮", "--db", str(db))
    assert removed.returncode == 0 and "重新标注" in removed.stdout
    with Store(db, read_only=True) as store:
        assert not store.scalar("SELECT count(*) FROM posts WHERE list_contains(topics, '本县餐饮')")


def test_bad_expressions_are_refused_by_the_cli(own_db):
    done = cli("schemes", "add", "坏方案", "--expr", "学校+(食堂", "--db", str(own_db["db"]))
    assert done.returncode == 2 and "表达式第7个字符处缺少右括号" in done.stderr
    assert cli("schemes", "remove", "不存在", "--db", str(own_db["db"])).returncode == 2


def test_topics_a_file_gives_are_kept_through_saves(tmp_path):
    from analysis import ingest

    db_path = tmp_path / "given.duckdb"
    with Store(db_path) as store:
        schemes.save(store, schemes.Scheme("供暖保障", "暖气|供暖"), "管理员")
        csv = ("post_id,channel,text,created_at,topic\n"
               "a,微博,小区暖气一直不热，投诉无人管,2026-11-20 08:00,\n"
               "b,微博,暖气不热,2026-11-20 09:00,物业小区\n"
               "c,微博,今天天气不错,2026-11-20 10:00,\n")
        assert ingest.ingest_bytes(csv.encode(), "topics.csv", db_path, store=store).inserted == 3
        schemes.remove(store, "物业小区", "管理员")
        schemes.save(store, schemes.Scheme("天气", "天气"), "管理员")
        got = store.query("SELECT post_id, topic FROM posts ORDER BY post_id").set_index("post_id")["topic"]
    assert got.to_dict() == {"a": "供暖保障", "b": "物业小区", "c": "天气"}


def test_an_older_database_gets_its_topic_dictionary_as_schemes(tmp_path):
    """A database from before schemes with its own dictionary: upgraded, the dictionary is the schemes, and a post
    whose topic no dictionary entry gave (its file's) is marked given."""
    from analysis import ingest
    from analysis.store import MIGRATIONS

    version = next(k for k, sql in enumerate(MIGRATIONS) if "CREATE TABLE schemes" in sql) + 1
    db_path = tmp_path / "old.duckdb"
    csv = ("post_id,channel,text,created_at,topic\n"
           "a,微博,小区暖气一直不热,2026-11-20 08:00,\n"
           "b,微博,暖气不热,2026-11-20 09:00,物业小区\n")
    with Store(db_path) as store:
        ingest.ingest_bytes(csv.encode(), "old.csv", db_path, store=store)
        store.execute([("DROP TABLE schemes", []), ("ALTER TABLE posts DROP COLUMN topic_given", []),
                       ("DROP TABLE dup_signed", []), ("DROP TABLE dup_bands", []),  # and the migration after it
                       ("ALTER TABLE posts DROP COLUMN dup_cluster", []),
                       ("DROP VIEW authors", []), ("DROP TABLE accounts", []), ("DROP TABLE incident_viewpoints", []),
                       ("DELETE FROM schema_version WHERE version >= ?", [version]),
                       ("UPDATE posts SET topic = '供暖保障', topics = ['供暖保障'] WHERE post_id = 'a'", []),
                       ("INSERT INTO settings (key, value, updated_by) VALUES ('topic_dictionary', ?, 'x')",
                        [json.dumps({"供暖保障": ["暖气", "供暖"]}, ensure_ascii=False)])])
    with Store(db_path) as store:
        assert schemes.load(store) == [schemes.Scheme("供暖保障", "暖气|供暖", owner="系统")]
        assert store.scalar("SELECT count(*) FROM settings WHERE key = 'topic_dictionary'") == 0
        schemes.save(store, schemes.Scheme("暖气", "暖气"), "管理员")
        got = store.query("SELECT post_id, topics FROM posts ORDER BY post_id").set_index("post_id")["topics"]
    assert [list(t) for t in got] == [["供暖保障", "暖气"], ["物业小区"]]
    assert config.UNCLASSIFIED_TOPIC not in schemes.SCOPES


# -- the 监测方案 page -------------------------------------------------------------------------------------------
def test_the_page_builds_previews_and_saves_a_scheme_exactly_as_previewed(own_db, tmp_path, monkeypatch):
    import shutil

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    db = tmp_path / "page.duckdb"
    shutil.copy(own_db["db"], db)
    monkeypatch.setenv("OPINION_DB", str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(str(REPO_ROOT / "views" / "schemes.py")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.dataframe[0].value) == len(topics.TOPIC_KEYWORDS)
    revision = "（新建方案）_0"
    at.text_input(key=f"scheme_name_{revision}").input("本县饭菜投诉")
    at.text_input(key=f"scheme_subjects_{revision}").input("菜、饭 肉")
    at.text_input(key=f"scheme_events_{revision}").input("吃出，苍蝇")
    at.text_input(key=f"scheme_excluded_{revision}").input("好吃")
    at.run()
    expression = "(菜|饭|肉)+(吃出|苍蝇)-好吃"
    assert at.code[0].value == expression
    at.button(key="scheme_preview").click().run()
    assert not at.exception, [e.message for e in at.exception]
    with Store(db, read_only=False) as store:
        expected = schemes.preview(store, schemes.Scheme("x", expression))["hits"]
    assert expected >= 3 and at.metric[0].value == f"{expected:,}"
    at.button(key="scheme_save").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.success[0].value == f"已保存方案“本县饭菜投诉”，重新标注 {expected} 条帖子。"
    assert at.selectbox(key="scheme_pick").value == "本县饭菜投诉"
    st.cache_resource.clear()  # the app's Store holds the file; release it to read the result
    with Store(db) as store:
        tagged = store.scalar("SELECT count(*) FROM posts WHERE list_contains(topics, '本县饭菜投诉')")
        saved = schemes.get(store, "本县饭菜投诉")
    assert tagged == expected and saved.expression == expression and saved.owner == "分析员"


def test_the_page_refuses_a_malformed_expression_in_chinese(own_db, tmp_path, monkeypatch):
    import shutil

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    db = tmp_path / "page.duckdb"
    shutil.copy(own_db["db"], db)
    monkeypatch.setenv("OPINION_DB", str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(str(REPO_ROOT / "views" / "schemes.py")).run()
    revision = "（新建方案）_0"
    at.radio(key=f"scheme_mode_{revision}").set_value("直接写表达式").run()
    at.text_input(key=f"scheme_name_{revision}").input("坏方案")
    at.text_area(key=f"scheme_expr_{revision}").input("学校+(食堂").run()
    at.button(key="scheme_save").click().run()
    assert not at.exception
    assert "未保存：表达式第7个字符处缺少右括号" in at.error[0].value
    st.cache_resource.clear()
    with Store(db) as store:
        assert schemes.get(store, "坏方案") is None


def test_replacing_a_scheme_keeps_its_place_and_a_new_one_comes_last(tmp_path):
    with Store(tmp_path / "order.duckdb") as store:
        names = [s.name for s in schemes.load(store)]
        schemes.save(store, schemes.Scheme("教育", "学校|老师"), "管理员")
        schemes.remove(store, "医疗卫生", "管理员")
        schemes.save(store, schemes.Scheme("城关供暖", "城关+暖气"), "管理员")
        after = schemes.load(store)
        audit = store.query("SELECT action, target FROM audit_log WHERE action LIKE 'schemes.%' ORDER BY audit_id")
    assert [s.name for s in after] == [n for n in names if n != "医疗卫生"] + ["城关供暖"]
    assert schemes.Scheme("教育", "学校|老师", owner="管理员") in after
    assert audit.values.tolist() == [["schemes.save", "教育"], ["schemes.remove", "医疗卫生"],
                                     ["schemes.save", "城关供暖"]]


def test_a_traditional_title_is_tagged_alike_at_import_and_by_a_re_tag(tmp_path):
    from analysis import ingest

    db_path = tmp_path / "trad.duckdb"
    csv = "post_id,channel,title,text,created_at\na,新闻,醫院排隊三小時,今天真累,2026-11-20 08:00\n"
    with Store(db_path) as store:
        ingest.ingest_bytes(csv.encode(), "trad.csv", db_path, store=store)
        at_import = store.scalar("SELECT topic FROM posts")
        schemes.save(store, schemes.Scheme("排队", "排队"), "管理员")
        after = store.query("SELECT topics FROM posts")["topics"][0]
    assert at_import == "医疗卫生" and list(after) == ["医疗卫生", "排队"]
