"""Notify people of new alerts: 企业微信 / 钉钉 / 飞书 webhook robots and SMTP e-mail; never raises.

Targets are data (a list of dicts, stored in the settings table under ``alert_targets``):

    {"type": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...", "format": "markdown"}
    {"type": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=...",
     "keyword": "舆情", "secret": "SEC..."}
    {"type": "feishu", "url": "https://open.feishu.cn/open-apis/bot/v2/hook/...", "secret": "..."}
    {"type": "email", "host": "smtp.example.gov.cn", "port": 587, "starttls": true, "username": "...",
     "password": "...", "from": "yuqing@example.gov.cn", "to": ["a@example.gov.cn"]}

Alert text comes partly from posts (subjects, keywords) and may be hostile: it is always sent as plain
text; in 企业微信 markdown every markdown/HTML control character of alert text is replaced by its
full-width twin, so nothing in a post can become a link, a heading or a coloured font.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import pandas as pd

from analysis.config import TIMEZONE

log = logging.getLogger(__name__)

TARGET_TYPES = {
    "wecom": "企业微信机器人",
    "dingtalk": "钉钉机器人",
    "feishu": "飞书机器人",
    "email": "电子邮件",
}
SETTINGS_KEY = "alert_targets"
DEFAULT_TIMEOUT = 5.0
MAX_ALERTS_PER_MESSAGE = 20  # robots cap message size (企业微信 markdown: 4096 bytes)
MAX_CONTENT_CHARS = 1800
_SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}
# Markdown / HTML control characters -> full-width look-alikes (readable, inert).
_MARKDOWN_NEUTRAL = str.maketrans(
    {
        "*": "＊",
        "_": "＿",
        "`": "｀",
        "#": "＃",
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "<": "＜",
        ">": "＞",
        "~": "～",
        "|": "｜",
        "!": "！",
        "\\": "＼",
        "&": "＆",
        "=": "＝",
        "-": "－",
        "+": "＋",
    }
)


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of sending to one target: never an exception."""

    target: str
    kind: str
    ok: bool
    attempts: int
    status: int | None = None
    error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def validate_target(target: dict) -> list[str]:
    """Chinese error messages naming the field; empty when the target can be used."""
    if not isinstance(target, dict):
        return ["推送目标必须是键值对象"]
    kind = target.get("type")
    if kind not in TARGET_TYPES:
        return [f"未知的推送类型（type）：{kind}；可选：{'、'.join(TARGET_TYPES)}"]
    errors = []
    if kind == "email":
        for key in ("host", "from"):
            if not isinstance(target.get(key), str) or not target[key].strip():
                errors.append(f"邮件推送缺少 {key}")
        to = target.get("to")
        if not (isinstance(to, str) and to.strip()) and not (
            isinstance(to, list) and to and all(isinstance(t, str) and "@" in t for t in to)
        ):
            errors.append("邮件推送的收件人（to）必须是邮箱地址或邮箱地址列表")
        port = target.get("port", 25)
        if not isinstance(port, int) or not 0 < port < 65536:
            errors.append("邮件端口（port）必须是1–65535的整数")
    else:
        url = target.get("url")
        scheme = urllib.parse.urlsplit(url).scheme if isinstance(url, str) else ""
        if scheme not in ("http", "https"):
            errors.append("机器人地址（url）必须以 https:// 或 http:// 开头")
    if kind == "wecom" and target.get("format", "markdown") not in ("markdown", "text"):
        errors.append("企业微信消息格式（format）应为 markdown 或 text")
    return errors


def load_targets(store) -> list[dict]:
    """Targets configured in settings (key ``alert_targets``); an empty list when none are set."""
    value = store.scalar("SELECT value FROM settings WHERE key = ?", [SETTINGS_KEY])
    if value is None:
        return []
    targets = json.loads(value) if isinstance(value, str) else value
    return targets if isinstance(targets, list) else []


def redact(targets: list[dict]) -> list[dict]:
    """Targets as they may be shown or logged: secrets, passwords and robot URLs (which embed the key) masked."""
    return [{k: ("***" if k in ("password", "secret", "url") else v) for k, v in t.items()} for t in targets]


def redacted_targets(store) -> list[dict]:
    return redact(load_targets(store))


# -- text -------------------------------------------------------------------------------------------


def _field(alert, name: str, default=None):
    if isinstance(alert, dict):
        return alert.get(name, default)
    if isinstance(alert, pd.Series):
        return alert.get(name, default)
    return getattr(alert, name, default)


def _plain(value) -> str:
    """One line of plain text: control characters removed, newlines flattened."""
    text = "" if value is None else str(value)
    return "".join(
        ch if ch.isprintable() else " " for ch in text.replace("\r", " ").replace("\n", " ")
    ).strip()


def neutralise_markdown(text: str) -> str:
    return _plain(text).translate(_MARKDOWN_NEUTRAL)


def _when(alert) -> str:
    fired = _field(alert, "fired_at")
    if fired is None or (not isinstance(fired, str) and pd.isna(fired)):
        return ""
    fired = pd.Timestamp(fired)
    return f"{fired.tz_convert(TIMEZONE) if fired.tzinfo else fired:%m-%d %H:%M}"


def alert_line(alert, escape=_plain) -> str:
    severity = _SEVERITY_ZH.get(_field(alert, "severity"), _field(alert, "severity") or "")
    number = _field(alert, "alert_id")
    head = f"#{number} " if number is not None else ""
    why = ((_field(alert, "details") or {}).get("explanation") or {}).get("summary")  # analysis.explain
    return (
        f"{head}[{severity}] {escape(_field(alert, 'rule_name', '') or _field(alert, 'rule_id', ''))}："
        f"{escape(_field(alert, 'message', ''))}（{_when(alert)}）" + (f"。成因：{escape(why)}" if why else "")
    )


def subject_line(alerts: Sequence) -> str:
    highs = sum(1 for a in alerts if _field(a, "severity") == "high")
    first = _plain(_field(alerts[0], "rule_name", "")) if alerts else ""
    more = f"等{len(alerts)}条" if len(alerts) > 1 else ""
    return f"【舆情预警】{first}{more}" + (f"（高级别{highs}条）" if highs else "")


def plain_text(alerts: Sequence) -> str:
    shown = list(alerts)[:MAX_ALERTS_PER_MESSAGE]
    lines = [subject_line(alerts), *[alert_line(a) for a in shown]]
    if len(alerts) > len(shown):
        lines.append(f"……另有{len(alerts) - len(shown)}条，请登录舆情系统查看")
    return _clip("\n".join(lines))


def markdown_text(alerts: Sequence) -> str:
    """企业微信 markdown: our own markup around neutralised alert text."""
    colour = {"high": "warning", "medium": "comment", "low": "info"}
    shown = list(alerts)[:MAX_ALERTS_PER_MESSAGE]
    lines = [f"**{neutralise_markdown(subject_line(alerts))}**"]
    for a in shown:
        lines.append(
            f'> <font color="{colour.get(_field(a, "severity"), "comment")}">'
            f"{neutralise_markdown(_SEVERITY_ZH.get(_field(a, 'severity'), ''))}</font> "
            + alert_line(a, neutralise_markdown).split("] ", 1)[-1]
        )
    if len(alerts) > len(shown):
        lines.append(f"……另有{len(alerts) - len(shown)}条，请登录舆情系统查看")
    return _clip("\n".join(lines))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CONTENT_CHARS else text[: MAX_CONTENT_CHARS - 1] + "…"


# -- payloads ---------------------------------------------------------------------------------------


def webhook_payload(target: dict, alerts: Sequence) -> dict:
    kind = target["type"]
    if kind == "wecom":
        if target.get("format", "markdown") == "markdown":
            return {"msgtype": "markdown", "markdown": {"content": markdown_text(alerts)}}
        return {"msgtype": "text", "text": {"content": plain_text(alerts)}}
    if kind == "dingtalk":
        content = plain_text(alerts)
        keyword = target.get("keyword")
        if keyword and keyword not in content:  # a robot with a keyword rule drops messages without it
            content = f"{keyword}\n{content}"
        return {"msgtype": "text", "text": {"content": content}}
    if kind == "feishu":
        payload: dict = {"msg_type": "text", "content": {"text": plain_text(alerts)}}
        if target.get("secret"):
            stamp = str(int(time.time()))
            key = f"{stamp}\n{target['secret']}".encode()
            payload["timestamp"] = stamp
            payload["sign"] = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        return payload
    raise ValueError(f"not a webhook target: {kind}")


def _dingtalk_url(target: dict) -> str:
    url = target["url"]
    if not target.get("secret"):
        return url
    stamp = str(int(time.time() * 1000))
    digest = hmac.new(
        target["secret"].encode(), f"{stamp}\n{target['secret']}".encode(), hashlib.sha256
    ).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={stamp}&sign={sign}"


def _robot_error(body: bytes) -> str | None:
    """The robots answer HTTP 200 with an error code in JSON (errcode for 企业微信/钉钉, code for 飞书)."""
    try:
        data = json.loads(body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    for key in ("errcode", "code", "StatusCode"):
        if key in data and data[key] not in (0, "0"):
            text = data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or ""
            return f"{key}={data[key]} {text}"
    return None


def target_label(target: dict) -> str:
    if target.get("name"):
        return str(target["name"])
    if target.get("type") == "email":
        return f"email:{target.get('host')}"
    host = urllib.parse.urlsplit(str(target.get("url", ""))).netloc
    return f"{target.get('type')}:{host}"


def send_webhook(
    target: dict, alerts: Sequence, timeout: float = DEFAULT_TIMEOUT, retries: int = 1
) -> DeliveryResult:
    """POST the robot's JSON; one retry on a network error or HTTP 5xx, none on a robot's refusal."""
    label, kind = target_label(target), target.get("type", "?")
    body = json.dumps(webhook_payload(target, alerts), ensure_ascii=False).encode("utf-8")
    url = _dingtalk_url(target) if kind == "dingtalk" else target["url"]
    status, error, attempts = None, "", 0
    for attempt in range(1, retries + 2):
        attempts = attempt
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked)
                status = response.status
                refusal = _robot_error(response.read())
            if refusal is None:
                return DeliveryResult(label, kind, True, attempts, status)
            error = f"机器人拒绝：{refusal}"
            break
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
            if exc.code < 500:
                break
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            error = f"网络错误：{getattr(exc, 'reason', exc)}"
        if attempt <= retries:
            time.sleep(0.2)
    log.warning("delivery to %s failed after %d attempt(s): %s", label, attempts, error)
    return DeliveryResult(label, kind, False, attempts, status, error)


def email_message(target: dict, alerts: Sequence) -> EmailMessage:
    body = plain_text(alerts) + "\n\n——本邮件由舆情监测系统自动发送，请勿直接回复。"
    return _message(target, subject_line(alerts), body)


def document_message(target: dict, subject: str, body: str, attachments: Sequence[Path]) -> EmailMessage:
    """A scheduled briefing as mail: the files attached (DOCX/PDF/HTML), the body plain text."""
    message = _message(target, _plain(subject), body + "\n\n——本邮件由舆情监测系统自动发送，请勿直接回复。")
    for path in attachments:
        kind = _ATTACHMENT_TYPES.get(path.suffix.lower(), ("application", "octet-stream"))
        message.add_attachment(path.read_bytes(), maintype=kind[0], subtype=kind[1], filename=path.name)
    return message


_ATTACHMENT_TYPES = {
    ".docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".pdf": ("application", "pdf"), ".html": ("text", "html"), ".png": ("image", "png"),
}


def _message(target: dict, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = target["from"]
    to = target["to"]
    message["To"] = ", ".join(to) if isinstance(to, list) else to
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=str(target["from"]).rsplit("@", 1)[-1] or "localhost")
    message.set_content(body, charset="utf-8")
    return message


def send_email(
    target: dict, alerts: Sequence, timeout: float = DEFAULT_TIMEOUT, retries: int = 1
) -> DeliveryResult:
    return send_message(target, email_message(target, alerts), timeout, retries)


def send_message(
    target: dict, message: EmailMessage, timeout: float = DEFAULT_TIMEOUT, retries: int = 1
) -> DeliveryResult:
    """Send one prepared message through the target's SMTP server; one retry on a temporary failure."""
    label = target_label(target)
    error, attempts = "", 0
    for attempt in range(1, retries + 2):
        attempts = attempt
        try:
            factory = smtplib.SMTP_SSL if target.get("ssl") else smtplib.SMTP
            with factory(
                target["host"], int(target.get("port", 465 if target.get("ssl") else 25)), timeout=timeout
            ) as smtp:
                if target.get("starttls"):
                    smtp.starttls()
                if target.get("username"):
                    smtp.login(target["username"], target.get("password", ""))
                smtp.send_message(message)
            return DeliveryResult(label, "email", True, attempts)
        except smtplib.SMTPResponseException as exc:
            error = f"SMTP {exc.smtp_code} {exc.smtp_error!r}"
            if exc.smtp_code < 500 and attempt <= retries:
                continue
            break
        except (smtplib.SMTPException, OSError) as exc:
            error = f"邮件发送失败：{exc}"
        if attempt <= retries:
            time.sleep(0.2)
    log.warning("e-mail via %s failed after %d attempt(s): %s", label, attempts, error)
    return DeliveryResult(label, "email", False, attempts, None, error)


def deliver(
    alerts: Iterable, targets: Sequence[dict], timeout: float = DEFAULT_TIMEOUT
) -> list[DeliveryResult]:
    """Send the alerts (Alert objects, dicts or DataFrame rows) to every target; one result per target."""
    alerts = list(alerts.to_dict("records") if isinstance(alerts, pd.DataFrame) else alerts)
    if not alerts:
        return []
    results = []
    for target in targets:
        problems = validate_target(target)
        if problems:
            results.append(
                DeliveryResult(
                    target_label(target) if isinstance(target, dict) else "?",
                    str(target.get("type") if isinstance(target, dict) else "?"),
                    False,
                    0,
                    None,
                    "；".join(problems),
                )
            )
            continue
        try:
            if target["type"] == "email":
                results.append(send_email(target, alerts, timeout))
            else:
                results.append(send_webhook(target, alerts, timeout))
        except Exception as exc:  # a bug here must not break alert evaluation
            log.exception("delivery to %s crashed", target_label(target))
            results.append(DeliveryResult(target_label(target), target["type"], False, 0, None, f"内部错误：{exc}"))
    return results
