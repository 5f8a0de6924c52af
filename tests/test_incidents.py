"""Incidents: the seeds' grading criteria, lifecycle order, deadline arithmetic, persistence and KPIs."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from analysis import config, grading, sensitive
from analysis import incidents as inc
from analysis.store import Store
from tests.factories import write_posts

TZ = "Asia/Shanghai"
QUIET = inc.Signals(posts=8, negative=2, negative_ratio=0.25, negative_ratio_change=0.0, sites=2, channels=2,
                    max_channels_in_window=1, peak_posts_per_hour=3, comments=5, mainstream_sites=(),
                    overseas_posts=0, casualty_posts=0, mass_incident_posts=0, growing=False,
                    sensitive_period=None, previous_grade=None, previous_graded_at=None)
ORDINARY_DAY = pd.Timestamp("2026-11-18 10:00", tz=TZ)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


# The pure rules under the built-in policy (an office's own comes from settings.policy).
def graded(signals: inc.Signals, tier_set: str, at: pd.Timestamp) -> inc.Grade:
    return inc.grade(signals, tier_set, at, grading.GradingThresholds(), sensitive.DEFAULT_PERIODS)


def measure(posts: pd.DataFrame, at: pd.Timestamp, thresholds: grading.GradingThresholds) -> inc.Signals:
    return inc.measure(posts, at, thresholds, None, sensitive.DEFAULT_PERIODS, config.MAINSTREAM_SITES)


def clocks_for(grade_name: str, events: pd.DataFrame, from_tickets: bool, now: pd.Timestamp) -> pd.DataFrame:
    return grading.clocks_for(grade_name, events, from_tickets, now, grading.DEADLINES)


@pytest.mark.parametrize(("change", "grade", "reason"), [
    ({}, "三级", "零星讨论"),
    ({"casualty_posts": 4}, "一级", "出现人员伤亡信息（4条帖子提及）"),
    ({"mass_incident_posts": 3}, "一级", "出现群体性事件信息"),
    ({"max_channels_in_window": 5}, "一级", "30分钟内跨5个平台传播"),
    ({"mainstream_sites": ("人民网", "新华网")}, "一级", "出现主流媒体报道（人民网、新华网）"),
    ({"peak_posts_per_hour": 120}, "一级", "快速发酵：1小时内最多120条"),
    ({"sites": 3}, "二级", "在3个站点传播"),
    ({"comments": 45}, "二级", "评论达45条"),
    ({"negative_ratio_change": 0.15}, "二级", "负面声音上升：近24小时负面占比上升15个百分点"),
    ({"overseas_posts": 2}, "二级", "境外媒体关注（2条）"),
])
def test_each_reason_fires_for_its_signal_three_tier(change, grade, reason):
    result = graded(replace(QUIET, **change), "三级", ORDINARY_DAY)
    assert result.grade == grade
    assert any(r.startswith(reason) for r in result.reasons), result.reasons


def test_a_second_grade_still_growing_after_a_day_is_escalated():
    signals = replace(QUIET, sites=4, growing=True, previous_grade="二级",
                      previous_graded_at=ORDINARY_DAY - pd.Timedelta(hours=25))
    result = graded(signals, "三级", ORDINARY_DAY)
    assert result.grade == "一级"
    assert "二级事件24小时后仍在升温，升级处理" in result.reasons
    not_yet = replace(signals, previous_graded_at=ORDINARY_DAY - pd.Timedelta(hours=5))
    assert graded(not_yet, "三级", ORDINARY_DAY).grade == "二级"


def test_sensitive_period_tightens_thresholds_and_says_so():
    signals = replace(QUIET, comments=25)
    assert graded(signals, "三级", ORDINARY_DAY).grade == "三级"
    national_day = ts("2026-10-02 10:00")
    result = graded(signals, "三级", national_day)
    assert result.grade == "二级"
    assert result.reasons == ("评论达25条（敏感时期“国庆节”，阈值已收紧）",)


@pytest.mark.parametrize(("change", "grade"), [
    ({"casualty_posts": 5, "mainstream_sites": ("央视新闻",)}, "特别重大"),
    ({"mainstream_sites": ("央视新闻",)}, "重大"),
    ({"sites": 4}, "较大"),
    ({}, "一般"),
])
def test_four_tier_set_reaches_every_grade(change, grade):
    assert graded(replace(QUIET, **change), "四级", ORDINARY_DAY).grade == grade


def test_unknown_tier_set_is_refused():
    with pytest.raises(ValueError, match="未知的分级体系"):
        graded(QUIET, "五级", ORDINARY_DAY)


def test_measure_counts_channels_inside_thirty_minutes_and_peak_hour():
    start = ts("2026-11-18 09:00")
    posts = pd.DataFrame({
        "created_at": [start + pd.Timedelta(minutes=m) for m in (0, 5, 10, 20, 29, 45, 50, 200)],
        "channel": ["微博", "抖音", "新闻", "贴吧", "快手", "微博", "微博", "境外媒体"],
        "site": ["新浪微博", "抖音", "人民网", "百度贴吧", "快手", "新浪微博", "新浪微博", "联合早报"],
        "text_norm": ["工厂爆炸致2人死亡", "现场浓烟", "已造成人员受伤", "听说有人死亡", "太吓人", "关注", "祈福",
                      "報道"],
        "sentiment_label": ["负面"] * 6 + ["中性", "负面"],
        "comment_count": [10, 0, 3, 0, 0, 2, 0, 0],
    })
    signals = measure(posts, start + pd.Timedelta(hours=4), grading.GradingThresholds())
    assert signals.max_channels_in_window == 5     # 09:00–09:29 on 5 platforms
    assert signals.peak_posts_per_hour == 7
    assert signals.casualty_posts == 3 and signals.mainstream_sites == ("人民网",)
    assert signals.overseas_posts == 1 and signals.comments == 15
    assert graded(signals, "三级", start).grade == "一级"
    early = measure(posts, start + pd.Timedelta(minutes=6), grading.GradingThresholds())
    assert early.posts == 2  # nothing after the moment of grading is seen


@pytest.mark.parametrize(("history", "step", "message"), [
    ([], "核实", "须先完成：监测发现"),
    (["监测发现"], "批办/交办", "须先完成：研判定级"),
    (["监测发现", "研判定级"], "总结评估", "须先完成：办结/化解"),
    (["监测发现", "研判定级"], "研判定级", "已记录过"),
    (["监测发现", "研判定级", "处置", "办结/化解"], "处置", "事件已办结"),
    (["监测发现", "研判定级", "处置", "办结/化解", "总结评估", "归档"], "跟踪", "事件已归档"),
    (["监测发现"], "重新打开", "尚未办结"),
    (["监测发现"], "发朋友圈", "未知的处置环节"),
])
def test_lifecycle_order_is_enforced_with_clear_errors(history, step, message):
    with pytest.raises(inc.LifecycleError, match=message):
        inc.check_event(history, step)


def test_reopen_needs_a_reason_and_then_allows_handling_again():
    closed = ["监测发现", "研判定级", "处置", "办结/化解"]
    with pytest.raises(inc.LifecycleError, match="须填写原因"):
        inc.check_event(closed, "重新打开", "  ")
    inc.check_event(closed, "重新打开", "当事人再次投诉")
    inc.check_event([*closed, "重新打开"], "处置")
    inc.check_event([*closed, "重新打开"], "办结/化解")


def test_deadlines_across_midnight_and_time_zones():
    found = ts("2026-11-18 23:50")
    events = pd.DataFrame({"step": ["监测发现"], "occurred_at": [found.tz_convert("UTC")]})
    clocks = clocks_for("一级", events, False, now=ts("2026-11-19 00:30")).set_index("label")
    report, release = "首报（30分钟内报送）", "权威发布（3小时，最迟5小时）"
    assert clocks.loc[report, "due_at"] == ts("2026-11-19 00:20")
    assert clocks.loc[report, "minutes_left"] == pytest.approx(-10)
    assert clocks.loc[report, "status"] == "已逾期"
    assert clocks.loc[release, "due_at"] == ts("2026-11-19 02:50")
    assert clocks.loc[release, "hard_due_at"] == ts("2026-11-19 04:50")
    assert inc.format_minutes(clocks.loc[report, "minutes_left"]) == "已逾期10分"
    assert inc.format_minutes(clocks.loc[release, "minutes_left"]) == "剩余4小时20分"
    answered = pd.concat([events, pd.DataFrame({"step": ["公开回应"], "occurred_at": [ts("2026-11-19 03:30")]})])
    late = clocks_for("重大", answered, False, now=ts("2026-11-19 06:00")).set_index("label")
    assert late.loc[release, "status"] == "超目标未超时限"  # 重大 runs on the 一级 clock
    assert late.loc["新闻发布会/回应（24小时内）", "status"] == "按时"


def test_ticket_incidents_run_on_the_three_day_reply_clock():
    events = pd.DataFrame({"step": ["监测发现"], "occurred_at": [ts("2026-11-16 09:00")]})
    clocks = clocks_for("三级", events, True, now=ts("2026-11-20 09:00"))
    reply = clocks[clocks["step"] == "公开回应"].iloc[0]
    assert reply["label"].startswith("信件/留言答复")
    assert reply["due_at"] == ts("2026-11-19 09:00") and reply["hard_due_at"] == ts("2026-11-21 09:00")
    assert reply["status"] == "进行中" and reply["minutes_left"] == 24 * 60


@pytest.fixture()
def store(db_path):
    with Store(db_path) as opened:
        base = ts("2026-11-18 14:00")
        rows = [{"post_id": f"e{i}", "created_at": str(base + pd.Timedelta(minutes=3 * i)), "channel": ch,
                 "site": site, "text": "化工厂爆炸，已有人员死亡", "text_norm": "化工厂爆炸，已有人员死亡",
                 "sentiment_label": "负面", "topic": "安全生产", "region": "西固区", "comment_count": 20}
                for i, (ch, site) in enumerate([("微博", "新浪微博"), ("抖音", "抖音"), ("新闻", "人民网"),
                                                ("快手", "快手"), ("贴吧", "百度贴吧"), ("微博", "新浪微博")])]
        rows.append({"post_id": "h1", "created_at": "2026-11-16 09:00", "channel": "12345热线", "site": "12345",
                     "text": "小区暖气不热", "text_norm": "小区暖气不热", "topic": "物业小区"})
        write_posts(opened, rows)
        yield opened


def test_incident_lifecycle_grade_override_and_clocks_in_the_database(store):
    incident_id = inc.create_incident(store, "西固区化工厂爆炸", [f"e{i}" for i in range(6)], actor="分析员甲")
    assert incident_id.startswith("INC-20261118-")
    result = inc.grade_incident(store, incident_id, at=ts("2026-11-18 15:00"))
    assert result.grade == "一级"
    assert "30分钟内跨5个平台传播" in result.reasons
    assert "出现主流媒体报道（中央媒体：人民网（首家，11-18 14:06））" in result.reasons  # worded by tier
    inc.add_event(store, incident_id, "报送", "分析员甲", at=ts("2026-11-18 14:20"))
    with pytest.raises(inc.LifecycleError):
        inc.add_event(store, incident_id, "办结/化解", "分析员甲", at=ts("2026-11-18 15:00"))
    inc.override_grade(store, incident_id, "二级", "经核实无人员死亡", actor="科长乙")
    history = inc.grade_history(store, incident_id)
    assert history["grade"].tolist() == ["一级", "二级"] and history["is_override"].tolist() == [False, True]
    listed = inc.list_incidents(store).set_index("incident_id").loc[incident_id]
    assert (listed["grade"], listed["status"], listed["posts"]) == ("二级", "处置中", 6)

    clocks = inc.deadline_clocks(store, now=ts("2026-11-19 15:00")).set_index("step")
    assert not clocks.loc["公开回应", "is_overdue"]  # 二级: 48 h from 14:00 on the 18th
    assert clocks.loc["公开回应", "minutes_left"] == pytest.approx(23 * 60)
    assert inc.escalate_overdue(store, now=ts("2026-11-19 15:00")) == 0
    assert inc.escalate_overdue(store, now=ts("2026-11-20 16:00")) == 1
    assert inc.escalate_overdue(store, now=ts("2026-11-20 17:00")) == 0  # idempotent
    audit = store.query("SELECT action FROM audit_log WHERE action NOT LIKE 'rule.%' "
                        "ORDER BY audit_id")["action"].tolist()
    assert audit[:3] == ["create_incident", "incident_event", "override_grade"]


def test_kpis_for_a_period(store):
    explosion = inc.create_incident(store, "爆炸", [f"e{i}" for i in range(6)], actor="a")
    inc.grade_incident(store, explosion, at=ts("2026-11-18 15:00"))
    for step, at in [("报送", "14:25"), ("核实", "15:30"), ("研判定级", "15:00"), ("公开回应", "16:00"),
                     ("处置", "16:30"), ("办结/化解", "2026-11-19 12:00")]:
        inc.add_event(store, explosion, step, "a", at=ts(at if "-" in at else f"2026-11-18 {at}"))
    heating = inc.create_incident(store, "暖气不热", ["h1"], actor="a")
    inc.grade_incident(store, heating, at=ts("2026-11-16 10:00"))
    result = inc.kpis(store, ts("2026-11-16 00:00"), ts("2026-11-19 00:00"), now=ts("2026-11-20 12:00"))
    assert result["incidents"] == 2
    assert result["by_grade"] == {"一级": 1, "三级": 1}
    assert result["resolution_rate"] == 0.5 and result["reply_rate"] == 0.5
    assert result["mean_response_hours"] == pytest.approx(2.0)  # 14:00 → 16:00
    assert result["on_time_rate"]["报送"] == 0.5  # explosion: 25 minutes (within 30); heating ticket: missed
    assert result["on_time_rate"]["公开回应"] == 1.0  # 2 h, within the 3 h target
    assert result["overdue"] == 1  # the heating ticket's 24 h report; its reply clock runs to the 5-day limit


def test_incident_posts_hourly_counts_and_clocks_for_an_incident_with_many_posts(store):
    base = ts("2026-11-19 08:00")
    many = [{"post_id": f"m{i:04d}", "created_at": str(base + pd.Timedelta(minutes=i)), "channel": "微博",
             "text": f"暖气不热第{i}条", "text_norm": f"暖气不热第{i}条", "topic": "物业小区",
             "sentiment_label": "负面" if i % 3 == 0 else "中性"} for i in range(1500)]
    write_posts(store, many[::-1], batch_id="many")  # stored newest first: the order must come from created_at
    big = inc.create_incident(store, "供暖投诉", [p["post_id"] for p in many], actor="a")
    small = inc.create_incident(store, "暖气", ["h1"], actor="a")

    posts = inc.incident_posts(store, big)
    assert posts["post_id"].tolist() == [p["post_id"] for p in many]
    assert inc.incident_posts(store, small)["post_id"].tolist() == ["h1"]

    expected = store.query("""SELECT date_trunc('hour', p.created_at) AS hour, count(*) AS posts,
                                     count(*) FILTER (WHERE p.sentiment_label = '负面') AS negative
                              FROM incident_posts ip JOIN posts p USING (post_id) WHERE ip.incident_id = ?
                              GROUP BY 1 ORDER BY 1""", [big])
    pd.testing.assert_frame_equal(inc.hourly_counts(posts), expected, check_dtype=False)
    assert inc.hourly_counts(posts.iloc[:0]).empty

    now = ts("2026-11-20 12:00")
    row = inc.list_incidents(store).set_index("incident_id").loc[big]
    clocks = inc.incident_clocks(row, inc.events(store, big), now, grading.DEADLINES)
    assert clocks["label"].tolist() == clocks_for("三级", inc.events(store, big), False, now)["label"].tolist()
    assert clocks["time_left"].str.startswith(("剩余", "已逾期")).all()


def test_open_board_lists_incidents_once(store, monkeypatch):
    inc.create_incident(store, "爆炸", [f"e{i}" for i in range(6)], actor="a")
    calls = []
    listing = inc.list_incidents
    monkeypatch.setattr(inc, "list_incidents", lambda *a, **k: calls.append(1) or listing(*a, **k))
    board = inc.open_board(store, ts("2026-11-18 15:00"))
    assert len(calls) == 1 and board["title"].tolist() == ["爆炸"]
