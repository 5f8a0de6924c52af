"""Delivery: each robot's JSON as received by a local HTTP server, e-mail through a local SMTP server,
hostile text neutralised, failures reported (never raised). Loopback addresses only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import socketserver
import threading
import urllib.parse
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from analysis import alerts, delivery, settings
from analysis.alerts import Alert
from analysis.store import Store

HOSTILE = (
    '话题【安全生产】近1小时发帖128条 [点我](http://evil.example) **加粗** <font color="red">假</font> # 标题'
)


def make_alert(
    message: str = "话题【安全生产】近1小时发帖128条，超过阈值50条（基线中位数9条）",
    severity: str = "high",
    alert_id: int = 7,
) -> Alert:
    at = pd.Timestamp("2026-11-10 11:00", tz="Asia/Shanghai")
    return Alert(
        "posts_hour",
        "话题发帖量超限",
        "threshold",
        "安全生产",
        at,
        at - pd.Timedelta(hours=1),
        at,
        128.0,
        50.0,
        severity,
        message,
        {},
        "k",
        alert_id,
    )


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


class Robot:
    """A local webhook: records each request; answers with the queued (status, body) replies, then 200 ok."""

    def __init__(self):
        self.requests: list[dict] = []
        self.replies: list[tuple[int, dict]] = []
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                robot.requests.append(
                    {
                        "path": self.path,
                        "content_type": self.headers["Content-Type"],
                        "json": json.loads(body.decode("utf-8")),
                    }
                )
                status, reply = (
                    robot.replies.pop(0) if robot.replies else (200, {"errcode": 0, "errmsg": "ok"})
                )
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def robot():
    server = Robot()
    yield server
    server.close()


def test_wecom_markdown_neutralises_hostile_text(robot):
    results = delivery.deliver([make_alert(HOSTILE)], [{"type": "wecom", "url": robot.url + "/wecom?key=k"}])
    assert [(r.ok, r.attempts, r.status) for r in results] == [(True, 1, 200)]
    request = robot.requests[0]
    assert request["path"] == "/wecom?key=k" and request["content_type"].startswith("application/json")
    assert request["json"]["msgtype"] == "markdown"
    content = request["json"]["markdown"]["content"]
    assert content.splitlines()[0] == "**【舆情预警】话题发帖量超限（高级别1条）**"
    line = content.splitlines()[1]
    assert line.startswith(
        '> <font color="warning">高</font> 话题发帖量超限：话题【安全生产】近1小时发帖128条 '
    )
    alert_text = line.split("</font>", 1)[1]
    # nothing from the alert text can become a link, bold text, a font tag or a heading
    for control in ("[", "]", "(", ")", "*", "<", ">", "#"):
        assert control not in alert_text
    assert "［点我］（http://evil.example）" in alert_text  # readable, but no longer a markdown link
    assert "＊＊加粗＊＊" in alert_text and '＜font color＝"red"＞假' in alert_text


def test_wecom_text_dingtalk_and_feishu_payloads(robot):
    alert = make_alert()
    targets = [
        {"type": "wecom", "url": robot.url + "/wecom", "format": "text"},
        {
            "type": "dingtalk",
            "url": robot.url + "/ding?access_token=t",
            "keyword": "舆情监测",
            "secret": "SECabc",
        },
        {"type": "feishu", "url": robot.url + "/feishu", "secret": "fs"},
    ]
    robot.replies = [(200, {"errcode": 0}), (200, {"errcode": 0}), (200, {"code": 0, "msg": "success"})]
    results = delivery.deliver([alert], targets)
    assert [r.ok for r in results] == [True, True, True]
    wecom, ding, feishu = (r["json"] for r in robot.requests)
    line = (
        "#7 [高] 话题发帖量超限：话题【安全生产】近1小时发帖128条，超过阈值50条（基线中位数9条）"
        "（11-10 11:00）"
    )
    assert wecom == {
        "msgtype": "text",
        "text": {"content": f"【舆情预警】话题发帖量超限（高级别1条）\n{line}"},
    }
    assert ding == {
        "msgtype": "text",
        "text": {"content": f"舆情监测\n【舆情预警】话题发帖量超限（高级别1条）\n{line}"},
    }
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(robot.requests[1]["path"]).query)
    stamp = query["timestamp"][0]
    expected = base64.b64encode(
        hmac.new(b"SECabc", f"{stamp}\nSECabc".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["access_token"] == ["t"] and query["sign"] == [expected]
    assert feishu["msg_type"] == "text" and feishu["content"] == {
        "text": f"【舆情预警】话题发帖量超限（高级别1条）\n{line}"
    }
    key = f"{feishu['timestamp']}\nfs".encode()
    assert feishu["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def test_failures_are_reported_not_raised(robot):
    alert = make_alert()
    robot.replies = [(500, {"errcode": -1}), (500, {"errcode": -1})]
    failed = delivery.deliver(
        [alert], [{"type": "wecom", "url": robot.url + "/a", "name": "值班群"}], timeout=2
    )
    assert [(r.target, r.ok, r.attempts, r.status, r.error) for r in failed] == [
        ("值班群", False, 2, 500, "HTTP 500")
    ]
    robot.replies = [(503, {}), (200, {"errcode": 0})]  # the one retry rescues a transient failure
    assert [
        (r.ok, r.attempts) for r in delivery.deliver([alert], [{"type": "feishu", "url": robot.url}])
    ] == [(True, 2)]
    robot.replies = [
        (200, {"errcode": 310000, "errmsg": "keywords not in content"})
    ]  # the robot refuses: no retry
    refused = delivery.deliver([alert], [{"type": "dingtalk", "url": robot.url}])[0]
    assert (refused.ok, refused.attempts) == (False, 1) and "310000" in refused.error
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused_conn = delivery.deliver(
        [alert], [{"type": "wecom", "url": f"http://127.0.0.1:{port}/x"}], timeout=2
    )[0]
    assert (refused_conn.ok, refused_conn.attempts) == (False, 2) and refused_conn.error.startswith(
        "网络错误"
    )
    bad = delivery.deliver([alert], [{"type": "wecom", "url": "file:///etc/passwd"}, {"type": "pager"}])
    assert [(r.ok, r.attempts, r.error) for r in bad] == [
        (False, 0, "机器人地址（url）必须以 https:// 或 http:// 开头"),
        (False, 0, "未知的推送类型（type）：pager；可选：wecom、dingtalk、feishu、email"),
    ]
    assert delivery.deliver([], [{"type": "wecom", "url": robot.url}]) == []  # nothing new, nothing sent
    assert len(robot.requests) == 5


def test_long_batches_are_capped():
    many = [make_alert(alert_id=i) for i in range(45)]
    text = delivery.plain_text(many)
    assert text.splitlines()[0] == "【舆情预警】话题发帖量超限等45条（高级别45条）"
    assert text.splitlines()[-1] == "……另有25条，请登录舆情系统查看"
    assert len(text) <= delivery.MAX_CONTENT_CHARS


class SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self):
        box = self.server.box
        self.reply("220 localhost test SMTP")
        while True:
            line = self.rfile.readline().decode().rstrip("\r\n")
            if not line:
                return
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-localhost")
                self.reply("250 AUTH PLAIN")
            elif verb == "HELO":
                self.reply("250 localhost")
            elif verb == "AUTH":
                box["auth"] = base64.b64decode(line.split()[2]).split(b"\0")[1:]
                self.reply("235 ok")
            elif verb == "MAIL":
                box["from"] = line
                self.reply("250 ok")
            elif verb == "RCPT":
                if box.get("reject_rcpt"):
                    self.reply("550 no such user")
                else:
                    box.setdefault("rcpt", []).append(line.split(":", 1)[1].strip())
                    self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    data += self.rfile.readline()
                box["data"] = data[:-5]
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture()
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SMTPHandler)
    server.daemon_threads = True
    server.box = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_email_has_chinese_subject_and_plain_body(smtp_server):
    target = {
        "type": "email",
        "host": "127.0.0.1",
        "port": smtp_server.server_address[1],
        "from": "yq@example.cn",
        "to": ["duty@example.cn", "lead@example.cn"],
        "username": "yq",
        "password": "pw",
    }
    results = delivery.deliver([make_alert(HOSTILE), make_alert(severity="medium", alert_id=8)], [target])
    assert [(r.ok, r.kind) for r in results] == [(True, "email")]
    box = smtp_server.box
    assert box["auth"] == [b"yq", b"pw"]
    assert box["rcpt"] == ["<duty@example.cn>", "<lead@example.cn>"]
    message = message_from_bytes(box["data"], policy=default_policy)
    assert message["Subject"] == "【舆情预警】话题发帖量超限等2条（高级别1条）"
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert "#7 [高] 话题发帖量超限：" + HOSTILE in body  # plain text: the message as it is
    assert (
        "#8 [中] 话题发帖量超限：话题【安全生产】近1小时发帖128条，超过阈值50条（基线中位数9条）"
        "（11-10 11:00）" in body
    )
    assert body.rstrip().endswith("本邮件由舆情监测系统自动发送，请勿直接回复。")


def test_email_rejection_is_reported(smtp_server):
    smtp_server.box["reject_rcpt"] = True
    target = {
        "type": "email",
        "host": "127.0.0.1",
        "port": smtp_server.server_address[1],
        "from": "yq@example.cn",
        "to": "duty@example.cn",
    }
    result = delivery.deliver([make_alert()], [target])[0]
    assert not result.ok and "550" in result.error
    assert delivery.validate_target({"type": "email", "host": "h", "from": "a@b", "to": ["nobody"]}) == [
        "邮件推送的收件人（to）必须是邮箱地址或邮箱地址列表"
    ]


def test_targets_stored_in_settings_with_secrets_out_of_audit(db_path, robot):
    targets = [{"type": "dingtalk", "url": robot.url + "/ding?access_token=secret-token", "secret": "SEC1"}]
    with Store(db_path) as store:
        assert delivery.load_targets(store) == []
        with pytest.raises(ValueError, match="第1个：机器人地址（url）"):
            settings.save(store, "alert_targets", [{"type": "feishu", "url": "ftp://x"}], "admin")
        settings.save(store, "alert_targets", targets, "admin")
        assert delivery.load_targets(store) == targets
        audit = store.scalar("SELECT details FROM audit_log WHERE action = 'settings.update'")
        assert "secret-token" not in audit and "SEC1" not in audit
        # alerts created by a run go out through the stored targets
        from tests.factories import write_posts
        from tests.test_alerts import POSTS_RULE, posts_in_hour

        write_posts(store, posts_in_hour("2026-11-10 10:00", 60, topic="安全生产"))
        alerts.save_rule(store, POSTS_RULE, "admin")
        new = alerts.run(store, pd.Timestamp("2026-11-10 11:00", tz="Asia/Shanghai"))
        results = delivery.deliver(new, delivery.load_targets(store))
    assert [r.ok for r in results] == [True]
    assert robot.requests[0]["json"]["text"]["content"].endswith(
        "话题【安全生产】近1小时发帖60条，超过阈值50条（11-10 11:00）"
    )
