"""Deterministic Chinese demo posts: a city's background chatter plus four embedded incidents.

The demo city is the fictional 金城市 with the districts in ``REGIONS``. Everything is generated
from ``numpy.random.Generator(PCG64(seed))``; the same ``(days, seed, end)`` gives the same frame bit for
bit (no global random state, no ``hash()`` of strings, no set iteration).

Background (about 460 posts a day):
- channel volumes as a 舆情 office sees them: 微博, 新闻跟帖 and 抖音 large; 12345热线, 留言板 and
  市长信箱 medium; 境外媒体, 上级转办 and 信访 small;
- three daily rhythms: social media (night dip, peaks about 10:00 and 21:00, busier weekends), media
  (office hours, quieter weekends) and tickets/letters (office hours, weekends at less than half);
- a day-to-day wobble, authors from heavy-tailed pools, heavy-tailed read/like/comment/repost counts
  (0 for tickets and letters);
- trees: 微博 reposts (two levels, ``//@`` chains), comments under news (新闻跟帖), 贴吧 threads and
  抖音/快手 videos; children inherit topic and region and follow their parent in time.

Embedded incidents (anchored to the calendar day of ``end``, called ``D``; needs ``days >= MIN_DAYS``):
1. ``explosion`` — 一级 burst, 安全生产 in 西固区 on D-4 at 14:20: about 600 posts, most within 4 hours,
   on 微博, 抖音, 快手, 新闻 (人民网, 新华网, 央视新闻 ...), 门户网站, 新闻跟帖, 微信公众号, 贴吧,
   境外媒体 (traditional characters), 12345热线; casualty words 死亡/受伤; closed (办结) on D-2.
2. ``river_pollution`` — 二级 slow fermentation, 环境污染 in 榆中县 from D-12: daily volume and the
   negative share rise for six days until the official 通报, then decline; closed on D-3.
3. ``heating_outage`` — hotline cluster, 物业小区 in 安宁区 on D-8 and D-7: about 200 tickets and letters
   (12345热线, 留言板, 市长信箱, 书记信箱) with near-identical wording, a few 贴吧/微博 posts; 三级.
4. ``canteen_rumour`` — 食品药品 rumour in 七里河区 on D-2 20:30: a 微博 repost cascade of about 300
   reposts, at least 7 deep through a chain of relaying accounts, each repost's ``//@`` chain mirroring its
   parent chain, then an official 辟谣 on D-1 11:00 that is itself reposted; still open (no 办结), and
   its late reposts may trail into D up to ``end``.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from functools import lru_cache

import numpy as np
import opencc
import pandas as pd

from analysis.config import CHANNELS, TIMEZONE, TOPICS

MIN_DAYS = 14  # the slow incident starts 12 days before the end day
CITY = "金城市"

# Background posts per day, per channel (originals and children together).
CHANNEL_DAILY: dict[str, float] = {
    "微博": 130, "新闻跟帖": 70, "抖音": 45, "12345热线": 40, "新闻": 30, "贴吧": 25, "微信公众号": 20,
    "门户网站": 15, "论坛": 15, "快手": 15, "留言板": 15, "市长信箱": 10, "维权网站": 8, "传统媒体": 6,
    "博客": 4, "书记信箱": 4, "信访": 3, "境外媒体": 2, "上级转办": 2,
}
# Share of a channel's background volume that are children (reposts or comments).
CHILD_SHARE: dict[str, float] = {"微博": 0.42, "抖音": 0.65, "快手": 0.6, "贴吧": 0.6}

CHANNEL_SITES: dict[str, tuple[tuple[str, float], ...]] = {
    "微博": (("新浪微博", 1.0),),
    "微信公众号": (("微信", 1.0),),
    "抖音": (("抖音", 1.0),),
    "快手": (("快手", 1.0),),
    "贴吧": (("百度贴吧", 1.0),),
    "论坛": (("金城论坛", 0.55), ("天涯社区", 0.2), ("知乎", 0.25)),
    "博客": (("新浪博客", 0.7), ("搜狐博客", 0.3)),
    "新闻": (("人民网", 0.14), ("新华网", 0.1), ("央视新闻", 0.06), ("澎湃新闻", 0.14), ("中国新闻网", 0.1),
           ("金城日报", 0.28), ("金城晚报", 0.18)),
    "门户网站": (("新浪新闻", 0.25), ("网易新闻", 0.25), ("腾讯新闻", 0.2), ("今日头条", 0.2), ("搜狐新闻", 0.1)),
    "传统媒体": (("金城日报", 0.45), ("金城晚报", 0.35), ("金城广播电视台", 0.2)),
    "境外媒体": (("联合早报", 0.45), ("BBC中文", 0.35), ("德国之声中文", 0.2)),
    "维权网站": (("黑猫投诉", 0.8), ("消费保", 0.2)),
    "12345热线": (("12345热线平台", 1.0),),
    "市长信箱": (("市长信箱", 1.0),),
    "书记信箱": (("书记信箱", 1.0),),
    "留言板": (("人民网领导留言板", 0.6), ("金城市网上留言板", 0.4)),
    "上级转办": (("省网信办", 0.5), ("省政府办公厅", 0.3), ("国家信访局", 0.2)),
    "信访": (("市信访局", 0.6), ("网上信访平台", 0.4)),
}
MAINSTREAM_SITES = ("人民网", "新华网", "央视新闻")

TOPIC_DAILY_WEIGHT: dict[str, float] = {
    "安全生产": 0.07, "食品药品": 0.08, "教育": 0.1, "医疗卫生": 0.09, "拆迁征收": 0.06, "环境污染": 0.08,
    "交通出行": 0.13, "物业小区": 0.12, "欠薪维权": 0.06, "防汛救灾": 0.04, "营商环境": 0.07, "社会治安": 0.1,
}
REGION_WEIGHT: dict[str, float] = {
    "城关区": 0.27, "七里河区": 0.16, "西固区": 0.1, "安宁区": 0.11, "红古区": 0.04, "永登县": 0.06,
    "皋兰县": 0.04, "榆中县": 0.08, "新区": 0.14,
}

# Hour-of-day weights: social media dip at night and peak near 10:00 and 21:00; media and tickets
# follow office hours.
HOUR_PROFILE: dict[str, tuple[float, ...]] = {
    "social": (0.35, 0.22, 0.14, 0.09, 0.07, 0.09, 0.2, 0.45, 0.75, 0.95, 1.0, 0.95,
               0.85, 0.8, 0.82, 0.85, 0.85, 0.82, 0.85, 0.95, 1.05, 1.1, 0.95, 0.65),
    "media": (0.1, 0.05, 0.03, 0.03, 0.03, 0.06, 0.3, 0.7, 0.95, 1.0, 1.0, 0.9,
              0.7, 0.7, 0.85, 0.9, 0.85, 0.75, 0.6, 0.55, 0.5, 0.45, 0.3, 0.2),
    "office": (0.05, 0.03, 0.02, 0.02, 0.02, 0.03, 0.08, 0.35, 0.9, 1.0, 1.0, 0.9,
               0.5, 0.55, 0.9, 1.0, 0.95, 0.8, 0.45, 0.35, 0.3, 0.25, 0.15, 0.08),
}
WEEKDAY_PROFILE: dict[str, tuple[float, ...]] = {  # Monday first
    "social": (0.97, 0.95, 0.97, 0.98, 1.03, 1.15, 1.12),
    "media": (1.05, 1.0, 1.0, 1.0, 1.0, 0.7, 0.65),
    "office": (1.1, 1.0, 1.0, 1.0, 0.95, 0.45, 0.4),
}
CHANNEL_RHYTHM: dict[str, str] = {
    **{c: "social" for c in ("微博", "新闻跟帖", "抖音", "快手", "贴吧", "论坛", "博客", "微信公众号", "维权网站")},
    **{c: "media" for c in ("新闻", "门户网站", "传统媒体", "境外媒体")},
    **{c: "office" for c in ("12345热线", "市长信箱", "书记信箱", "留言板", "上级转办", "信访")},
}
# Tone mix (negative, neutral, positive, official notice) by channel family.
TONE_MIX: dict[str, tuple[float, float, float, float]] = {
    "social": (0.42, 0.3, 0.16, 0.12), "comment": (0.5, 0.33, 0.17, 0.0), "media": (0.22, 0.13, 0.25, 0.4),
    "ticket": (0.82, 0.12, 0.06, 0.0), "overseas": (0.7, 0.3, 0.0, 0.0), "rights": (1.0, 0.0, 0.0, 0.0),
}
TONES = ("neg", "neu", "pos", "gov")

EMO_WEIBO = {"neg": ("[怒]", "[泪]", "[抓狂]", "[允悲]", "[费解]", "[吃瓜]", "[衰]", "[生病]"),
             "neu": ("[思考]", "[吃瓜]", "[doge]", "[微笑]", "[二哈]", "[并不简单]"),
             "pos": ("[赞]", "[鼓掌]", "[心]", "[哈哈]", "[微笑]", "[给力]")}
EMO_VIDEO = {"neg": ("[发怒]", "[流泪]", "[捂脸]", "[惊恐]", "[衰]"), "neu": ("[看]", "[思考]", "[呲牙]", "[捂脸]"),
             "pos": ("[赞]", "[玫瑰]", "[鼓掌]", "[爱心]", "[呲牙]")}

REGIONS: tuple[str, ...] = tuple(REGION_WEIGHT)
REGION_SHORT = {r: (r[:-1] if r.endswith(("区", "县")) and len(r) > 2 else f"金城{r}") for r in REGIONS}


def _split(text: str) -> tuple[str, ...]:
    """Items separated by a single '|' ('||' separates a title from its text inside an item)."""
    return tuple(part.strip() for part in re.split(r"(?<!\|)\|(?!\|)", text) if part.strip())


# Per topic: responsible department, weibo account, hashtag, places, organisations, problems (the first
# clause doubles as a title), good news, official notices, headlines and petitioners' demands.
TOPIC_TEXT: dict[str, dict[str, object]] = {
    "安全生产": dict(
        dept="应急管理局", account="金城应急管理", tag="安全生产",
        places=_split("工业园区|某建筑工地|加油站旁的仓库|老旧小区|商场|批发市场|夜市一条街|物流园"),
        orgs=_split("鑫达化工有限公司|恒建建筑工程公司|顺通物流园|百汇商场"),
        issues=_split("消防通道被杂物堵死，真出事了消防车都进不来|燃气管道老化有异味，报修好几天没人来|"
                      "工地晚上施工不戴安全帽，塔吊就在马路上方转|楼道里电动车充电，一层楼好几辆|"
                      "仓库堆放的化学品没人管，天一热味道很大|施工围挡倒了一半，行人只能绕到机动车道上走|"
                      "灭火器过期两年了还挂在墙上|脚手架搭得摇摇晃晃，下面就是人行道"),
        good=_split("燃气公司半天就上门把老化管道换了|街道组织了消防演练，老人孩子都学会用灭火器了|"
                    "应急局检查后，违规堆放的物料当天就清走了|楼道电动车全部清理，新装了集中充电桩"),
        notices=_split("开展安全生产大检查，重点排查危化品、燃气、建筑施工等领域隐患|"
                       "发布冬季燃气安全提示，请市民定期检查燃气软管|公布安全隐患举报电话12350，查实给予奖励|"
                       "通报近期执法检查情况，{n}家企业被责令停产整改"),
        heads=_split("{region}开展安全生产隐患排查整治专项行动|{region}{n}家企业因安全隐患被责令整改|"
                     "守牢安全底线 {region}推进重点行业领域安全检查|{region}举行危化品事故应急演练"),
        demands=_split("请应急部门上门检查|要求责任单位立即排除隐患|希望加强日常安全巡查")),
    "食品药品": dict(
        dept="市场监管局", account="金城市场监管", tag="食品安全",
        places=_split("农贸市场|某连锁超市|学校周边小吃店|外卖商家|大药房|牛肉面馆|夜市烧烤摊|网红奶茶店"),
        orgs=_split("惠民大药房|好又多超市|金味餐饮管理公司|鲜果时光奶茶"),
        issues=_split("买的熟食吃完全家拉肚子，商家不认账|超市卖过期酸奶，日期标签贴了两层|"
                      "外卖里吃出头发和苍蝇，平台只给退五块钱|后厨卫生脏乱差，老鼠在操作台上跑|"
                      "药店处方药随便卖，不要处方也行|保健品讲座骗老人买高价产品|"
                      "散装食品没有标签，问来源说不清|奶茶店用隔夜原料，员工自己都不喝"),
        good=_split("市场监管局接到投诉第二天就去查了，问题商家已被立案|超市主动下架问题产品并给顾客退款|"
                    "明厨亮灶改造后，后厨情况手机上就能看|学校食堂实行家长陪餐，吃得放心"),
        notices=_split("公布第{n}批食品安全抽检结果，{n}批次不合格产品已依法处置|"
                       "提醒市民节日期间谨慎购买散装食品|开展校园及周边食品安全专项整治|"
                       "发布野生菌中毒风险提示，不采不买不吃"),
        heads=_split("{region}公布食品安全抽检结果|{region}开展校园食品安全检查|"
                     "{region}查处一批违法销售过期食品案件|“明厨亮灶”覆盖{region}{n}家餐饮单位"),
        demands=_split("要求商家赔偿并道歉|请市场监管部门依法查处|希望加大抽检力度")),
    "教育": dict(
        dept="教育局", account="金城教育发布", tag="金城教育",
        places=_split("某小学|第{n}中学|幼儿园|校外培训机构|新建学校|学区房小区|职业学校|校门口"),
        orgs=_split("启航教育培训学校|金城实验小学|阳光幼儿园|博学培训中心"),
        issues=_split("学校变相补课，周六还要到校|培训机构跑路，交的一万多学费退不回来|"
                      "幼儿园收费项目一大堆，名目说不清|放学时校门口堵得水泄不通，孩子过马路太危险|"
                      "新小区配套学校迟迟不开学，孩子只能跨区上学|作业太多，孩子每天写到十一点|"
                      "划片政策一年一变，家长无所适从|学校食堂饭菜质量差，孩子吃不饱"),
        good=_split("教育局约谈了违规补课的学校，周六不用到校了|新建的学校如期开学，家门口就能上学|"
                    "课后服务丰富多了，孩子很喜欢|校门口设了护学岗，放学秩序好多了"),
        notices=_split("公布义务教育招生入学政策|开展校外培训机构专项检查，查处违规机构{n}家|"
                       "发布寒假安全告家长书|新增学位{n}个，缓解城区入学压力"),
        heads=_split("{region}新建改扩建学校{n}所|{region}规范校外培训 查处一批违规机构|"
                     "{region}课后服务实现全覆盖|{region}义务教育招生政策发布"),
        demands=_split("请教育部门调查处理|希望退还学费|要求规范收费并公示")),
    "医疗卫生": dict(
        dept="卫健委", account="健康金城", tag="健康金城",
        places=_split("市第一人民医院|区妇幼保健院|社区卫生服务中心|某民营医院|急诊科|儿科门诊|乡镇卫生院|药房"),
        orgs=_split("金城仁爱医院|康宁门诊部|市第一人民医院|华美口腔"),
        issues=_split("挂号难，儿科凌晨排队还挂不上|急诊等了三个小时没人管|民营医院过度检查，一个感冒花了两千|"
                      "医保报销流程繁琐，来回跑了五趟|医生态度冷漠，问两句就不耐烦|"
                      "乡镇卫生院缺医少药，只能往城里跑|停车难，医院门口堵成一锅粥|莆田系广告满天飞，诱导消费"),
        good=_split("医院开通了夜间儿科门诊，不用再熬夜排队|医保异地结算直接刷卡，太方便了|"
                    "社区医生上门给老人做体检，很暖心|急诊绿色通道救了我父亲，感谢医护人员"),
        notices=_split("发布冬春季呼吸道疾病防治提示|公布夜间门诊和急诊开放时间|"
                       "开展民营医疗机构专项整治，查处违规机构{n}家|推进分级诊疗，{n}家社区医院完成改造"),
        heads=_split("{region}新增夜间儿科门诊|{region}推进医保便民服务|{region}开展民营医院专项整治|"
                     "{region}家庭医生签约服务覆盖{n}万人"),
        demands=_split("请卫健部门核实处理|要求医院退还不合理费用|希望增加儿科号源")),
    "拆迁征收": dict(
        dept="住建局", account="金城住建", tag="征收补偿",
        places=_split("城中村|棚户区|旧城改造片区|某村|老厂区家属院|沿河片区|高铁站片区|城郊结合部"),
        orgs=_split("城投公司|恒达房地产开发公司|区征收办|某街道办事处"),
        issues=_split("征收补偿标准几年不变，根本买不起新房|安置房拖了五年还没交付|"
                      "晚上有人强行断水断电逼签协议|补偿款被层层截留，发到手里少了一大截|"
                      "评估价明显偏低，找谁都说按政策办|过渡费停发半年了|"
                      "宅基地面积认定不公，邻居多算了我家少算|还没签协议房子就被推了"),
        good=_split("征收办把补偿方案张榜公示，一户一算清清楚楚|安置小区终于交房，钥匙拿到手了|"
                    "过渡费补发到位，还给了利息|区里派工作组入户解释政策，态度很好"),
        notices=_split("公示征收补偿安置方案，征求群众意见|发布房屋征收决定公告|"
                       "通报安置房建设进度，{n}套安置房年底交付|开展征收领域问题专项整治"),
        heads=_split("{region}棚户区改造安置房交付{n}套|{region}公示征收补偿方案|"
                     "{region}推进城中村改造 阳光征收|{region}整治征收领域突出问题"),
        demands=_split("要求按市场价补偿|请尽快交付安置房|要求依法依规征收，停止违法拆除")),
    "环境污染": dict(
        dept="生态环境局", account="金城生态环境", tag="蓝天保卫战",
        places=_split("工业园区|河道|垃圾中转站|小区楼下餐馆|搅拌站|养殖场|化工厂附近|建筑工地"),
        orgs=_split("宏发建材有限公司|金河养殖场|某搅拌站|某化工企业"),
        issues=_split("半夜偷排废气，刺鼻的味道把人熏醒|河水发黑发臭，死鱼漂了一片|"
                      "垃圾中转站臭气熏天，夏天窗户都不敢开|餐馆油烟直排，楼上住户苦不堪言|"
                      "搅拌站粉尘漫天，车上一层灰|工地夜间施工噪音扰民，凌晨两点还在打桩|"
                      "养殖场污水直排到农田|烧垃圾的烟一到晚上就飘过来"),
        good=_split("生态环境局连夜检查，偷排企业已停产整改|河道清淤后水清了，又有人来钓鱼了|"
                    "油烟净化器装上后，终于能开窗了|工地夜间施工被叫停，晚上能睡个好觉了"),
        notices=_split("发布重污染天气预警，启动应急减排措施|公布{n}家重点排污单位在线监测数据|"
                       "开展入河排污口排查整治|公布环境违法行为举报渠道，查实重奖"),
        heads=_split("{region}开展入河排污口排查整治|{region}空气质量优良天数同比增加{n}天|"
                     "{region}查处环境违法案件{n}起|{region}推进黄河流域生态保护"),
        demands=_split("请环保部门夜间突击检查|要求企业停产整改|希望公开监测数据")),
    "交通出行": dict(
        dept="交通运输局", account="金城交警", tag="金城交通",
        places=_split("南滨河路|西津路|地铁1号线|公交站|高架桥下|火车站广场|学校门口路口|新区大道"),
        orgs=_split("公交集团|轨道交通公司|某网约车平台|停车管理公司"),
        issues=_split("早高峰堵成停车场，一公里走了四十分钟|公交车半小时不来一趟，来了还挤不上|"
                      "路口红绿灯时长不合理，行人根本走不过去|乱停车占满人行道|"
                      "道路施工围挡大半年，也不见动工|出租车拒载还绕路|"
                      "停车收费乱，十分钟收了二十块|地铁站出口太少，下雨天只能绕远路"),
        good=_split("新开的公交线路直达，通勤省了半小时|路口信号灯优化后明显不堵了|"
                    "交警在学校门口疏导，接孩子顺畅多了|新修的路通车了，再也不用绕路"),
        notices=_split("发布国庆假期出行提示，部分路段交通管制|公交线路优化调整，新开{n}条线路|"
                       "道路施工期间请绕行|开展交通违法行为集中整治"),
        heads=_split("{region}优化调整{n}条公交线路|{region}新增停车泊位{n}个|{region}一主干道改造完工通车|"
                     "{region}开展交通秩序集中整治"),
        demands=_split("请交通部门优化信号灯|希望增加公交班次|要求清理占道停车")),
    "物业小区": dict(
        dept="住建局", account="金城住建", tag="物业服务",
        places=_split("滨河家园小区|阳光花园|金色华庭|锦绣苑|老旧小区|回迁小区|幸福里小区|和平新村"),
        orgs=_split("鑫源物业|万家物业服务公司|开发商|业委会"),
        issues=_split("物业费年年涨，服务越来越差|电梯三天两头坏，老人被困了半小时|"
                      "小区停水两天没人通知|暖气不热，屋里只有十五度|楼道灯坏了一个月没人修|"
                      "公共收益去向不明，业主要求公开账目|小区门禁形同虚设，外卖车随便进|"
                      "地下车库漏水，车泡在水里"),
        good=_split("物业连夜抢修，第二天就来水了|老旧小区改造完成，加装了电梯|"
                    "街道协调后物业公开了公共收益账目|暖气温度达标了，屋里二十二度"),
        notices=_split("开展物业服务质量专项检查|发布供暖期服务保障措施，开通供暖投诉专线|"
                       "公布老旧小区改造计划，今年改造{n}个小区|规范物业收费，公示收费标准"),
        heads=_split("{region}老旧小区改造惠及{n}户居民|{region}开展物业服务专项整治|"
                     "{region}供暖投诉当日办结率提升|{region}加装电梯{n}部"),
        demands=_split("要求物业尽快维修|希望更换物业公司|请住建部门督促整改")),
    "欠薪维权": dict(
        dept="人社局", account="金城人社", tag="根治欠薪",
        places=_split("某建筑工地|某装修公司|某餐饮店|工业园某工厂|某物流公司|某培训机构|某商贸公司|某小区项目"),
        orgs=_split("恒建建筑工程公司|美居装饰公司|顺通物流|金城商贸有限公司"),
        issues=_split("干了八个月，工资一分没拿到|包工头跑路，几十个工人的工钱没着落|"
                      "公司拖欠工资三个月，还不让辞职|年底要钱被保安推搡|"
                      "离职后押金和最后一个月工资都不给|工资条上扣了一堆莫名其妙的费用|"
                      "劳动合同都没签，老板不认账|说好的加班费一分没有"),
        good=_split("人社局介入后，拖欠的工资全部发到手了|劳动监察大队当天就约谈了老板|"
                    "法律援助律师免费帮我们打赢了官司|工资专户制度落实后，再没拖过工资"),
        notices=_split("开展根治欠薪冬季专项行动|公布欠薪举报投诉电话12333|"
                       "通报第{n}批拖欠农民工工资失信联合惩戒对象|为农民工追回工资{n}万元"),
        heads=_split("{region}为农民工追回欠薪{n}万元|{region}开展根治欠薪冬季专项行动|"
                     "{region}公布重大劳动保障违法行为|{region}工程建设领域工资专户全覆盖"),
        demands=_split("要求尽快支付拖欠工资|请劳动监察部门介入|希望依法追究老板责任")),
    "防汛救灾": dict(
        dept="水务局", account="金城发布", tag="防汛",
        places=_split("河道|下穿隧道|山区村|低洼小区|沿河步道|排洪沟|地下车库|山洪沟"),
        orgs=_split("区水务局|防汛指挥部|某街道|某村委会"),
        issues=_split("一下雨就内涝，积水没过膝盖|排洪沟被垃圾堵死了，汛期怎么办|"
                      "山体有裂缝，村民担心滑坡|河堤加固工程拖着没完工|"
                      "隧道积水车被淹，没有任何警示|救灾物资发放不透明"),
        good=_split("暴雨中消防员背老人转移，太感动了|排水管网改造后，这次大雨没积水|"
                    "预警发得及时，村民提前撤离了|救灾物资当天就送到了安置点"),
        notices=_split("发布暴雨黄色预警，请市民减少外出|启动防汛IV级应急响应|"
                       "转移安置受威胁群众{n}人|开展汛前隐患排查"),
        heads=_split("{region}启动防汛应急响应|{region}转移群众{n}人 无人员伤亡|{region}完成排水管网改造|"
                     "{region}开展防汛应急演练"),
        demands=_split("请尽快疏通排洪沟|要求设置积水警示|希望加固河堤")),
    "营商环境": dict(
        dept="营商环境局", account="金城发布", tag="优化营商环境",
        places=_split("政务服务大厅|开发区|市场监管窗口|不动产登记中心|税务大厅|招商项目|工业园区|个体户集中的街道"),
        orgs=_split("政务服务中心|某园区管委会|不动产登记中心|某执法大队"),
        issues=_split("办个营业执照跑了四趟，材料一次说不清|项目签约时承诺的政策迟迟不兑现|"
                      "执法检查太频繁，一周来了三拨人|工程款被政府项目拖欠两年|"
                      "审批窗口推来推去，谁都说不归自己管|罚款随意，同样的问题标准不一|"
                      "招商承诺的厂房交付一拖再拖"),
        good=_split("一网通办真方便，营业执照当天就拿到了|政务大厅帮办代办，一次都没多跑|"
                    "拖欠的工程款终于结清了|企业反映的问题三天就有答复"),
        notices=_split("推出{n}项高效办成一件事套餐服务|开展涉企违规收费专项整治|"
                       "发布优化营商环境若干措施|设立企业诉求直通车，{n}个工作日内答复"),
        heads=_split("{region}推出{n}项政务服务新举措|{region}清理拖欠企业账款|{region}企业开办实现一日办结|"
                     "{region}召开民营企业座谈会"),
        demands=_split("要求兑现招商承诺|请尽快结清工程款|希望规范执法检查")),
    "社会治安": dict(
        dept="公安局", account="金城公安", tag="平安金城",
        places=_split("夜市|地铁站|老旧小区|网吧门口|商业街|城中村|公园|出租屋集中的片区"),
        orgs=_split("派出所|某保安公司|社区警务室|某物业"),
        issues=_split("电动车电瓶接连被偷，监控也没用|半夜有人在楼下喝酒闹事|"
                      "接到冒充客服的诈骗电话，差点转账|夜市有人强买强卖|"
                      "小区里有人搞传销聚会|路灯坏了，晚上一个人走很害怕|"
                      "有人在学校附近发小广告放高利贷"),
        good=_split("报警后十分钟民警就到了，电动车找回来了|反诈民警及时拦截，老人的养老钱保住了|"
                    "夜市有了巡逻岗，秩序好多了|社区装了高清监控，安心多了"),
        notices=_split("发布冬季防盗防诈提示|破获电信网络诈骗案件{n}起|开展夏夜治安巡查宣防集中行动|"
                       "公布涉黑涉恶线索举报方式"),
        heads=_split("{region}破获电诈案件{n}起 挽回损失{n}万元|{region}开展夜间治安巡查|"
                     "{region}刑事警情同比下降{n}%|{region}打掉一个盗窃团伙"),
        demands=_split("请公安机关加强巡逻|希望尽快破案|要求加装监控")),
}

# Channel frames; slots: {region} {place} {issue} {issue_title} {good} {notice} {head} {dept} {tag} {org}
# {demand} {ask} {emo} {official} {n} {ticket} {who}.
FRAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "weibo": {
        "neg": ("{region}{place}{issue}，{ask}{emo}", "#{tag}# {region}{place}{issue}{emo} {ask}",
                "真的服了，{issue}。{ask}@{official}{emo}",
                "有没有{region}的朋友？{place}{issue}，是不是只有我们这样{emo}",
                "第{n}次反映了：{region}{place}{issue}。{ask}", "{emo}{issue}……{ask}",
                "今天路过{region}{place}，{issue}，拍了照片，{ask}", "#{region}# {issue}，投诉无门{emo}"),
        "neu": ("请问{region}{place}的情况有人了解吗？想问问该找{dept}还是街道{emo}",
                "听说{region}{place}最近在整改，有没有知道进展的{emo}", "#{tag}# 转需：{notice}。",
                "{region}{place}今天人好多，是有什么活动吗{emo}"),
        "pos": ("给{region}{dept}点个赞{emo}，{good}。", "#{tag}# {good}，效率挺高的{emo}",
                "之前吐槽的问题解决了：{good}{emo} @{official}", "{region}这次干得漂亮，{good}，希望继续保持{emo}"),
        "gov": ("【{region}】{notice}。", "#{tag}# 【{dept}】{notice}。", "【提示】{notice}，请相互转告。"),
    },
    "repost": {
        "neg": ("太过分了{emo}", "必须严查！", "转发扩散，希望有关部门看到{emo}", "这种事怎么还在发生{emo}",
                "无语{emo}", "心寒", "@{official} 请回应", "又是{region}……"),
        "neu": ("转发微博", "转发微博", "关注", "蹲后续{emo}", "mark", "求真相", "[吃瓜]"),
        "pos": ("点赞{emo}", "这才是为人民服务", "好消息！", "支持{emo}"),
    },
    "comment": {
        "neg": ("说了多少年了，{issue_title}", "{place}就在我家旁边，确实是这样", "光说不练，看后续吧",
                "希望不是走过场", "每次都是出了事才重视", "{issue_title}，谁来管？", "同{region}，一样的情况",
                "建议记者再去暗访一次", "投诉过，没用"),
        "neu": ("关注", "坐等后续", "请问具体在哪个位置？", "{region}的路过", "有没有更详细的说明？", "顶", "已阅"),
        "pos": ("这个必须点赞", "实事办得好", "{good}，确实方便了", "支持{dept}的工作", "为基层工作人员点赞"),
    },
    "news": {
        "neg": ("市民反映{region}{place}{issue_title} {dept}：将尽快核查处理||近日，有市民向本报反映，{region}{place}"
                "{issue}。记者实地走访发现情况基本属实。{region}{dept}相关负责人表示，已安排专人核查，将尽快整改到位。",
                "{issue_title}？记者调查{region}{place}||{issue}——这是不少{region}居民近来的烦恼。记者连续{n}天走访，"
                "发现问题并非个例。{dept}回应称，将联合相关部门开展专项整治。"),
        "neu": ("{head}||记者从{region}{dept}获悉，{notice}。据介绍，相关工作将持续至月底。",),
        "pos": ("{head}||{good}。记者从{region}{dept}了解到，下一步将总结经验，在全区推广。",
                "民生实事落地 {region}{good}||“{good}。”{region}居民的感受，是民生实事落地的缩影。"),
        "gov": ("{head}||{region}{dept}{notice}。{dept}提醒广大市民，如发现相关问题可拨打12345热线反映。",),
    },
    "forum": {
        "neg": ("【吐槽】{region}{place}{issue_title}||楼主住{region}，{place}{issue}。打过12345，也在留言板留过言，"
                "{ask}大家有没有遇到类似情况？",
                "{region}{place}的问题到底有没有人管||{issue}，已经持续很久了。{ask}",
                "实名吐槽{org}||{issue}，跟{org}沟通了{n}次都是踢皮球。"),
        "neu": ("请教：{region}{place}的问题该找哪个部门？||{issue_title}这种情况，是找{dept}还是找街道？"
                "有懂的说说吗？",
                "整理一下{tag}相关的政策||{notice}。大家有补充的可以跟帖。"),
        "pos": ("说句公道话，{region}{dept}这次办事真快||{good}。前两天还在吐槽，没想到这么快就解决了，点赞。",),
    },
    "wechat": {
        "neg": ("{region}{place}{issue_title}，居民盼解决||近日，不少读者后台留言反映：{region}{place}{issue}。"
                "小编联系了{dept}，对方表示已经关注到相关情况。",),
        "neu": ("关于{tag}，这些事你需要知道||{notice}。转给身边的人！",),
        "pos": ("点赞！{region}{good}||{region}{dept}：{good}。为他们的效率点赞！",),
        "gov": ("{head}||{notice}。请广大市民相互转告。",),
    },
    "video": {
        "neg": ("{region}{place}{issue_title}，大家评评理{emo} #{tag} #{region}",
                "实拍{region}{place}：{issue}{emo} #{tag}",
                "{issue}，谁能管管{emo} #{region}"),
        "neu": ("{region}{place}现场，到底怎么回事？#{tag}", "{notice} #{tag} #{region}"),
        "pos": ("实拍{region}：{good}{emo} #{tag} #正能量", "为{region}{dept}点赞{emo} {good}"),
        "gov": ("{region}{dept}提醒：{notice} #{tag}",),
    },
    "rights": {
        "neg": ("投诉{org}：{issue_title}||【投诉对象】{org}\n【投诉问题】{issue_title}\n【投诉要求】{demand}\n"
                "【涉诉金额】{n}000元\n{issue}，多次沟通无果，请平台协调处理。",),
    },
    "overseas": {
        "neg": ("{city}{region}民众投诉{issue_title}||据中国社交媒体上的帖文，{city}{region}{place}{issue}。"
                "当地{dept}尚未回应本台查询。", "中国西北{city}基层治理引关注||网民反映{region}{place}{issue}，"
                "相关帖文在微博上一度被大量转发。"),
        "neu": ("{city}：{head}||官方媒体报道，{region}{dept}{notice}。",),
    },
    "hotline": {
        "neg": ("关于{region}{place}{issue_title}的诉求||来电人反映：其系{region}{place}附近居民，{issue}。"
                "诉求：{demand}。（工单编号：{ticket}）",
                "{region}{place}{issue_title}||来电人反映：{region}{place}{issue}，此前已多次反映未解决。"
                "诉求：{demand}，并给予答复。（工单编号：{ticket}）"),
        "neu": ("咨询{tag}相关政策||来电人咨询：{notice}的具体办理流程和所需材料。（工单编号：{ticket}）",),
        "pos": ("表扬{region}{dept}工作人员||来电人表扬：{good}，特致电感谢。（工单编号：{ticket}）",),
    },
    "mailbox": {
        "neg": ("关于{region}{place}{issue_title}的问题||尊敬的领导：您好！我是{region}的一名{who}。{issue}。"
                "多次向有关部门反映未果。{demand}，恳请领导关注。此致 敬礼！",),
        "neu": ("关于{tag}的建议||尊敬的领导：您好！{notice}，建议进一步简化流程、加强宣传，让群众少跑腿。",),
        "pos": ("感谢信：{region}{dept}||尊敬的领导：{good}。特写信表示感谢，希望对相关同志给予表扬！",),
    },
    "board": {
        "neg": ("{region}{place}{issue_title}||{dept}领导您好：{issue}，{ask}望尽快解决，谢谢！",
                "{region}{place}问题反映多次未解决||领导您好，{issue}。{demand}，盼回复。"),
        "neu": ("咨询{tag}相关问题||领导您好，想咨询一下：{notice}，具体什么时候实施？",),
        "pos": ("感谢{region}{dept}||{good}，感谢领导关心，感谢工作人员辛苦付出！",),
    },
    "transfer": {
        "neg": ("关于转办网民反映{region}{place}{issue_title}问题的函||{site}转来网民留言：{issue}。请你单位核实处理，"
                "并于{n}个工作日内将办理结果报送。",),
    },
    "petition": {
        "neg": ("信访事项：{issue_title}||信访人（{who}）反映：{region}{place}{issue}。诉求：{demand}。",),
    },
}
CHANNEL_KIND = {
    "微博": "weibo", "新闻": "news", "门户网站": "news", "传统媒体": "news", "新闻跟帖": "comment", "论坛": "forum",
    "贴吧": "forum", "博客": "forum", "微信公众号": "wechat", "抖音": "video", "快手": "video", "维权网站": "rights",
    "境外媒体": "overseas", "12345热线": "hotline", "市长信箱": "mailbox", "书记信箱": "mailbox", "留言板": "board",
    "上级转办": "transfer", "信访": "petition",
}
KIND_TONES = {"comment": "comment", "news": "media", "rights": "rights", "overseas": "overseas",
              "hotline": "ticket", "mailbox": "ticket", "board": "ticket", "transfer": "rights", "petition": "rights"}
ASKS = _split("有没有人管管？|投诉好几次了都没用。|希望相关部门重视！|到底归谁管？|说好的整改呢？|"
              "拜托扩散一下。|真的很无奈。|等了一个月没回音。")
WHO = _split("普通市民|退休职工|上班族|个体户|学生家长|外来务工人员|社区居民|老党员")
PETITIONERS = _split("王某|李某|张某|刘某|陈某|杨某|赵某|黄某|周某|吴某")
OFFICIAL_WEIBO = ("金城发布", "金城网警", "金城交警", "金城市场监管", "金城应急管理", "金城生态环境", "金城教育发布",
                  "健康金城", "金城住建", "金城人社", "金城公安", "金城12345")
WECHAT_ACCOUNTS = ("金城发布", "金城生活圈", "金城晚报", "金城身边事", "金城吃喝玩乐", "金城楼市观察", "金城交通广播")
REPORTERS = _split("记者 张明|记者 刘婷|记者 王磊|记者 陈静|记者 赵宇|通讯员 李娜|记者 马骏|记者 何芳|"
                   "本报评论员|编辑 孙悦")
NICK_HEAD = _split("金城|兰山下的|黄河边的|西固|安宁|城关|七里河|榆中|皋兰|永登|新区|快乐的|路过的|一只|"
                   "追风的|沉默的|爱吃牛肉面的|早起的")
NICK_CORE = _split("小王|阿杰|老张|猫|胖虎|大叔|阿姨|吃货|打工人|宝妈|青年|的哥|骑手|教书匠|护士|程序员|摄影师|老李|"
                   "小雨|晨曦|星星|铁蛋|喵喵|老马|阿伟")
NICK_TAIL = ("", "", "", "2019", "_", "呀", "88", "666", "Leo", "小号", "君", "1990")
BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Read/like base levels per channel (median of a lognormal); channels without public counters are absent.
COUNT_BASE: dict[str, tuple[float, float]] = {
    "微博": (600, 4), "抖音": (3000, 40), "快手": (1500, 20), "新闻": (2500, 6), "门户网站": (5000, 10),
    "传统媒体": (800, 0), "微信公众号": (1800, 12), "论坛": (400, 2), "贴吧": (300, 2), "博客": (200, 1),
    "维权网站": (150, 1), "新闻跟帖": (0, 3),
}
TICKET_CHANNELS = ("12345热线", "市长信箱", "书记信箱", "留言板", "上级转办", "信访")


@lru_cache(maxsize=1)
def _to_traditional() -> opencc.OpenCC:
    return opencc.OpenCC("s2hk")


class _Posts:
    """Column buffers for posts under construction; indexes are creation order."""

    def __init__(self, rng: np.random.Generator, t0: pd.Timestamp, window_s: int, nicks: tuple[str, ...]):
        self.rng, self.t0, self.window_s, self.nicks = rng, t0, window_s, nicks
        self.nick_p = 1.0 / (np.arange(len(nicks)) + 8.0) ** 1.15
        self.nick_p /= self.nick_p.sum()
        # A few ordinary users write traditional characters (Hong Kong, Taiwan, overseas readers).
        self.trad_users = frozenset(name for i, name in enumerate(nicks) if i % 97 == 5)
        self.cols: dict[str, list] = {k: [] for k in (
            "channel", "site", "author_id", "title", "text", "t", "parent", "region", "topic", "post_type",
            "tone", "url", "boost")}

    def __len__(self) -> int:
        return len(self.cols["text"])

    def user_names(self, n: int) -> list[str]:
        return [self.nicks[i] for i in self.rng.choice(len(self.nicks), size=n, p=self.nick_p)]

    def add(self, **rows: list) -> np.ndarray:
        """Append rows; 境外媒体 and the traditional-script users get their own words converted."""
        n = len(rows["text"])
        start = len(self)
        for key, values in rows.items():
            self.cols[key].extend(values)
        cols, cc = self.cols, _to_traditional()
        for i in range(start, start + n):
            if cols["channel"][i] == "境外媒体" or cols["author_id"][i] in self.trad_users:
                own, sep, chain = cols["text"][i].partition("//@")  # quoted reposts keep their authors' script
                cols["text"][i] = cc.convert(own) + sep + chain
                if cols["title"][i]:
                    cols["title"][i] = cc.convert(cols["title"][i])
        return np.arange(start, start + n)


def _pick(rng: np.random.Generator, options: tuple, weights, size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=size, p=p / p.sum())]


def _sites(rng: np.random.Generator, channel: str, size: int) -> np.ndarray:
    names, weights = zip(*CHANNEL_SITES[channel], strict=True)
    return _pick(rng, names, weights, size)


class _Slots(dict):
    """Template slots for one post, computed only when a template asks for them."""

    def __init__(self, topic: str, region: str, tone: str, channel: str, site: str, r: list[int], d8: str):
        super().__init__(region=region, site=site, city=CITY)
        self.spec, self.tone, self.channel, self.r, self.d8 = TOPIC_TEXT[topic], tone, channel, r, d8
        self.n = 2 + r[9] % 19

    def _choose(self, field: str, k: int) -> str:
        options = self.spec[field]
        return options[self.r[k] % len(options)]

    def __missing__(self, key: str):
        r, region = self.r, self["region"]
        if key in ("issue", "issue_title"):
            issue = self._choose("issues", 0)
            value = issue if key == "issue" else issue.split("，")[0]
        elif key == "emo":
            emos = (EMO_VIDEO if self.channel in ("抖音", "快手") else EMO_WEIBO)[
                "neu" if self.tone == "gov" else self.tone]
            value = emos[r[8] % len(emos)] if r[10] % 4 else ""
        elif key == "official":
            value = self.spec["account"] if r[11] % 2 else f"{REGION_SHORT[region]}发布"
        else:
            value = {
                "place": lambda: self._choose("places", 1).replace("{n}", str(self.n + 20)),
                "good": lambda: self._choose("good", 2),
                "notice": lambda: self._choose("notices", 3).replace("{n}", str(self.n)),
                "head": lambda: self._choose("heads", 4).format(region=region, n=self.n * 3),
                "org": lambda: self._choose("orgs", 5), "demand": lambda: self._choose("demands", 6),
                "dept": lambda: self.spec["dept"], "tag": lambda: self.spec["tag"],
                "ask": lambda: ASKS[r[7] % len(ASKS)], "n": lambda: self.n, "who": lambda: WHO[r[13] % len(WHO)],
                "ticket": lambda: f"JC{self.d8}{r[12] % 1_000_000:06d}",
            }[key]()
        self[key] = value
        return value


def _render(kind: str, tone: str, slots: dict, r: list[int]) -> tuple[str | None, str]:
    frames = FRAMES[kind].get(tone) or FRAMES[kind].get("neu") or FRAMES[kind]["neg"]
    frame = frames[r[14] % len(frames)].format_map(slots)
    if "||" in frame:
        title, text = frame.split("||", 1)
        return title, text
    return None, frame


def _b62(x: int, width: int) -> str:
    """`width` base-62 characters stirred from `x` (a 64-bit LCG step per character)."""
    chars = []
    for _ in range(width):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        chars.append(BASE62[(x >> 33) % 62])
    return "".join(chars)


# Plausible (fake) addresses per site from a random number `a`, the date `d` (yyyymmdd) and the account id.
SITE_URLS = {
    "新浪微博": lambda a, d, uid: f"https://weibo.com/{uid}/{_b62(a, 9)}",
    "微信": lambda a, d, uid: f"https://mp.weixin.qq.com/s/{_b62(a, 22)}",
    "抖音": lambda a, d, uid: f"https://www.douyin.com/video/7{a % 10**18:018d}",
    "快手": lambda a, d, uid: f"https://www.kuaishou.com/short-video/3x{_b62(a, 13).lower()}",
    "百度贴吧": lambda a, d, uid: f"https://tieba.baidu.com/p/{8 * 10**9 + a % 10**9}",
    "金城论坛": lambda a, d, uid: f"https://bbs.jinchengbbs.cn/thread-{a % 10**7}-1-1.html",
    "天涯社区": lambda a, d, uid: f"http://bbs.tianya.cn/post-free-{a % 10**7}-1.shtml",
    "知乎": lambda a, d, uid: f"https://www.zhihu.com/question/{6 * 10**8 + a % 10**8}",
    "新浪博客": lambda a, d, uid: f"https://blog.sina.com.cn/s/blog_{a % 16**8:08x}0102{_b62(a, 5).lower()}.html",
    "搜狐博客": lambda a, d, uid: f"https://blog.sohu.com/s/{_b62(a, 10)}/",
    "人民网": lambda a, d, uid: f"http://gs.people.com.cn/n2/{d[:4]}/{d[4:]}/c{183000 + a % 1000}-{a % 10**8:08d}.html",
    "新华网": lambda a, d, uid: f"http://www.news.cn/local/{d[:4]}-{d[4:6]}/{d[6:]}/c_{1130000000 + a % 10**7}.htm",
    "央视新闻": lambda a, d, uid: f"https://news.cctv.com/{d[:4]}/{d[4:6]}/{d[6:]}/ARTI{_b62(a, 20)}{d[2:]}.shtml",
    "澎湃新闻": lambda a, d, uid: f"https://www.thepaper.cn/newsDetail_forward_{2 * 10**7 + a % 10**7}",
    "中国新闻网": lambda a, d, uid: (
        f"https://www.chinanews.com.cn/sh/{d[:4]}/{d[4:6]}-{d[6:]}/{10**7 + a % 10**6}.shtml"),
    "金城日报": lambda a, d, uid: f"https://www.jinchengdaily.cn/content/{d}/{a % 10**6:06d}.html",
    "金城晚报": lambda a, d, uid: f"https://www.jcwb.com.cn/news/{d}/{a % 10**6:06d}.html",
    "金城广播电视台": lambda a, d, uid: f"https://www.jctv.cn/xw/{d}/{a % 10**5:05d}.shtml",
    "新浪新闻": lambda a, d, uid: (
        f"https://news.sina.com.cn/s/{d[:4]}-{d[4:6]}-{d[6:]}/doc-in{_b62(a, 13).lower()}.shtml"),
    "网易新闻": lambda a, d, uid: f"https://www.163.com/dy/article/{_b62(a, 16).upper()}.html",
    "腾讯新闻": lambda a, d, uid: f"https://new.qq.com/rain/a/{d}A0{_b62(a, 4).upper()}00",
    "今日头条": lambda a, d, uid: f"https://www.toutiao.com/article/7{a % 10**18:018d}/",
    "搜狐新闻": lambda a, d, uid: f"https://www.sohu.com/a/{7 * 10**8 + a % 10**8}_{a % 10**6:06d}",
    "联合早报": lambda a, d, uid: f"https://www.zaobao.com.sg/news/china/story{d}-{10**6 + a % 10**6}",
    "BBC中文": lambda a, d, uid: f"https://www.bbc.com/zhongwen/trad/chinese-news-{6 * 10**7 + a % 10**7}",
    "德国之声中文": lambda a, d, uid: f"https://www.dw.com/zh-hant/a-{6 * 10**7 + a % 10**7}",
    "黑猫投诉": lambda a, d, uid: f"https://tousu.sina.com.cn/complaint/view/{17 * 10**9 + a % 10**9}/",
    "消费保": lambda a, d, uid: f"https://www.xfb315.com/complaint/{a % 10**7}.html",
    "人民网领导留言板": lambda a, d, uid: f"https://liuyan.people.com.cn/threads/content?tid={2 * 10**7 + a % 10**7}",
    "金城市网上留言板": lambda a, d, uid: f"https://www.jinchengshi.gov.cn/hdjl/lyb/{a % 10**6:06d}.html",
}


def _yyyymmdd(times: pd.DatetimeIndex) -> list[str]:
    return (times.year * 10000 + times.month * 100 + times.day).astype(str).tolist()


def _hour_weights(t0: pd.Timestamp, hours: int, rhythm: str, day_wobble: np.ndarray) -> np.ndarray:
    slot_start = t0 + pd.to_timedelta(np.arange(hours), unit="h")
    w = (np.asarray(HOUR_PROFILE[rhythm])[slot_start.hour]
         * np.asarray(WEEKDAY_PROFILE[rhythm])[slot_start.day_of_week]
         * day_wobble[np.arange(hours) // 24])
    return w / w.sum()


def _draw_tones(rng: np.random.Generator, family: str, size: int) -> np.ndarray:
    return _pick(rng, TONES, TONE_MIX[family], size)


def _texts(rng: np.random.Generator, channel: str, kind: str, topics, regions, tones, sites, times) -> tuple:
    """Titles and texts for new posts, using each row's own random draws."""
    draws = rng.integers(0, 2**62, size=(len(topics), 15)).tolist()
    dates = _yyyymmdd(times)
    titles, texts = [], []
    for i in range(len(topics)):
        slots = _Slots(topics[i], regions[i], tones[i], channel, sites[i], draws[i], dates[i])
        title, text = _render(kind, tones[i], slots, draws[i])
        titles.append(title)
        texts.append(text)
    return titles, texts


def _background(posts: _Posts, days: int) -> None:
    rng, t0 = posts.rng, posts.t0
    hours = days * 24
    day_wobble = np.exp(rng.normal(0.0, 0.12, size=days + 1))
    topic_names, topic_w = TOPICS, [TOPIC_DAILY_WEIGHT[t] for t in TOPICS]
    region_names, region_w = zip(*REGION_WEIGHT.items(), strict=True)
    weights = {r: _hour_weights(t0, hours, r, day_wobble) for r in HOUR_PROFILE}
    trees: dict[str, np.ndarray] = {}
    for channel in CHANNELS:
        total = round(CHANNEL_DAILY[channel] * days)
        if channel == "新闻跟帖":
            continue  # comments need the news originals first
        n = round(total * (1 - CHILD_SHARE.get(channel, 0.0)))
        slot = rng.choice(hours, size=n, p=weights[CHANNEL_RHYTHM[channel]])
        secs = np.sort(slot * 3600 + rng.integers(0, 3600, size=n))
        topics = _pick(rng, topic_names, topic_w, n)
        regions = _pick(rng, region_names, region_w, n)
        kind = CHANNEL_KIND[channel]
        tones = _draw_tones(rng, KIND_TONES.get(kind, "social"), n)
        sites = _sites(rng, channel, n)
        times = t0 + pd.to_timedelta(secs, unit="s")
        if kind == "wechat":
            authors = _pick(rng, WECHAT_ACCOUNTS, np.ones(len(WECHAT_ACCOUNTS)), n)
        elif kind in ("weibo", "video"):
            authors = np.where(tones == "gov", _pick(rng, OFFICIAL_WEIBO, np.ones(len(OFFICIAL_WEIBO)), n),
                               np.asarray(posts.user_names(n), dtype=object))
        elif kind == "news":
            authors = _pick(rng, REPORTERS, np.ones(len(REPORTERS)), n)
        elif kind in ("hotline", "petition"):
            authors = np.full(n, None, dtype=object)
        elif kind in ("mailbox", "board"):
            authors = [f"{s[0]}**" for s in _pick(rng, PETITIONERS, np.ones(len(PETITIONERS)), n)]
        elif kind in ("transfer", "overseas"):
            authors = sites.copy()
        else:
            authors = np.asarray(posts.user_names(n), dtype=object)
        titles, texts = _texts(rng, channel, kind, topics, regions, tones, sites, times)
        idx = posts.add(channel=[channel] * n, site=list(sites), author_id=list(authors), title=titles, text=texts,
                        t=list(secs), parent=[-1] * n, region=list(regions), topic=list(topics),
                        post_type=["original"] * n, tone=list(tones), url=[None] * n, boost=[1.0] * n)
        trees[channel] = idx
        if channel in CHILD_SHARE:
            _children(posts, channel, idx, total - n, "repost" if channel == "微博" else "comment")
    news_parents = np.concatenate([trees["新闻"], trees["门户网站"]])
    _children(posts, "新闻跟帖", news_parents, round(CHANNEL_DAILY["新闻跟帖"] * days), "comment")


def _children(posts: _Posts, channel: str, parents: np.ndarray, n: int, post_type: str) -> None:
    """Reposts or comments under `parents`: popular parents attract most, children follow in time."""
    rng = posts.rng
    popularity = rng.lognormal(0.0, 1.3, size=len(parents))
    chosen = parents[rng.choice(len(parents), size=n, p=popularity / popularity.sum())]
    if post_type == "repost":  # a third of reposts repost an earlier repost: two-level trees and //@ chains
        first = chosen[: n * 2 // 3]
        _add_children(posts, channel, first, post_type, scale_s=3 * 3600)
        level1 = np.arange(len(posts) - len(first), len(posts))
        popularity = rng.lognormal(0.0, 1.0, size=len(level1))
        second = level1[rng.choice(len(level1), size=n - len(first), p=popularity / popularity.sum())]
        _add_children(posts, channel, second, post_type, scale_s=2 * 3600)
    else:
        _add_children(posts, channel, chosen, post_type, scale_s=5 * 3600)


def _add_children(posts: _Posts, channel: str, parents: np.ndarray, post_type: str, scale_s: float,
                  tones: np.ndarray | None = None, texts: list[str] | None = None,
                  authors: list[str] | None = None, boost: float = 0.3) -> np.ndarray:
    """Append children of `parents`; 微博 reposts get `//@parent:` chains like the real client writes."""
    rng, cols = posts.rng, posts.cols
    n = len(parents)
    parent_t = np.asarray([cols["t"][p] for p in parents], dtype=np.int64)
    delay = rng.exponential(scale_s, size=n) + 30
    # People react less at night: a delay landing in a quiet hour is extended, so children keep the daily rhythm.
    awake = np.asarray(HOUR_PROFILE["social"]) / max(HOUR_PROFILE["social"])
    t0_of_day = posts.t0.hour * 3600 + posts.t0.minute * 60 + posts.t0.second
    for _ in range(6):
        hour = ((parent_t + delay + t0_of_day) // 3600 % 24).astype(np.int64)
        asleep = rng.random(n) > awake[hour]
        delay = np.where(asleep, delay + rng.exponential(scale_s, size=n), delay)
    delay = delay.astype(np.int64)
    room = posts.window_s - 1 - parent_t
    delay = np.where(delay > room, (room * rng.random(n)).astype(np.int64), delay)
    secs = parent_t + delay
    if tones is None:
        tones = _draw_tones(rng, "comment", n)
    topics = [cols["topic"][p] for p in parents]
    regions = [cols["region"][p] for p in parents]
    sites = [cols["site"][p] for p in parents]
    if texts is None:
        times = posts.t0 + pd.to_timedelta(secs, unit="s")
        kind = "repost" if post_type == "repost" else "comment"
        texts = _texts(rng, channel, kind, topics, regions, tones, sites, times)[1]
    if post_type == "repost":
        texts = [
            f"{own}//@{cols['author_id'][p]}:{cols['text'][p]}" if cols["post_type"][p] == "repost" else own
            for own, p in zip(texts, parents, strict=True)
        ]
    if authors is None:
        authors = posts.user_names(n)
    return posts.add(channel=[channel] * n, site=sites, author_id=list(authors), title=[None] * n, text=list(texts),
                     t=list(secs), parent=list(parents), region=regions, topic=topics, post_type=[post_type] * n,
                     tone=list(tones), url=[None] * n, boost=[boost] * n)


# ---- embedded incidents -------------------------------------------------------------------------------

EXPLOSION_WEIBO = _split(
    "西固这边刚才一声巨响，窗户都在震{emo}|#西固化工厂爆炸# 浓烟好大，消防车一辆接一辆过去{emo}|"
    "鑫达化工那边起火了，黑烟几公里外都能看到，大家离远点！|听说有人死亡，还有好多人受伤送医院了，祈祷平安{emo}|"
    "#西固化工厂爆炸# 附近居民注意关窗，味道很刺鼻{emo}|我家就在园区旁边，玻璃全碎了，孩子吓哭了{emo}|"
    "救护车一直在响，市第一人民医院门口全是人|希望伤者平安，消防员辛苦了{emo}|"
    "这个厂之前就有人举报过安全隐患，为什么没人管？{emo}|求官方尽快公布伤亡情况，不要捂盖子！{emo}|"
    "医院在招募O型血献血者，西固的朋友能去的去一下|#西固化工厂爆炸# 现场视频太吓人了，愿平安")
EXPLOSION_NEWS = _split(
    "{city}西固区一化工企业发生爆炸 已致{d}人死亡{i}人受伤||{date}14时20分许，{city}西固区鑫达化工有限公司厂房发生"
    "爆炸并引发火灾。截至目前，事故已造成{d}人死亡、{i}人受伤，伤者已送医救治。事故原因正在调查中。|"
    "{city}西固区化工厂爆炸事故救援进行中||记者在现场看到，消防救援人员正在全力扑救明火，周边约{e}名群众已疏散。"
    "事故共造成{d}人死亡{i}人受伤。|"
    "应急管理部派工作组赶赴{city}指导爆炸事故处置||应急管理部已派出工作组赶赴现场，指导做好伤员救治、"
    "现场处置和善后工作。目前已造成{d}人死亡。|"
    "直击{city}化工厂爆炸现场：浓烟滚滚 多人受伤||爆炸发生后，附近居民楼玻璃被震碎，{i}名受伤人员被送往医院。")
EXPLOSION_COMMENTS = _split(
    "愿逝者安息，伤者早日康复|必须彻查，严肃追责！|又是化工厂，监管去哪了？|消防员太辛苦了|"
    "有没有公布遇难者名单？|周边空气会不会有毒？孩子要不要转移？|之前就有人举报过，为什么不处理？|"
    "祈福🙏|希望不要再有伤亡了|官方通报太慢了")
EXPLOSION_OFFICIAL = _split(
    "【情况通报】{date}14时20分许，西固区鑫达化工有限公司发生爆炸事故，目前明火已扑灭，事故造成{d}人死亡、{i}人受伤，"
    "伤者正在全力救治，周边群众已妥善安置。事故原因正在调查，相关责任人已被控制。|"
    "【{city}应急管理局】西固区化工企业爆炸事故现场搜救工作结束，环境监测数据显示周边空气质量正常，请市民不信谣不传谣。|"
    "【通报】{city}部署开展危化品企业安全隐患大排查，对全市{e}家危化品企业逐一检查。")
EXPLOSION_HOTLINE = _split(
    "关于西固区化工园区爆炸后异味问题的诉求||来电人反映：其系西固区化工园区附近居民，爆炸后家中闻到刺鼻气味，"
    "担心有毒。诉求：请环保部门监测空气质量并公布结果。（工单编号：{ticket}）|"
    "关于西固区爆炸事故房屋受损的诉求||来电人反映：西固区化工厂爆炸导致其家中窗户玻璃震碎，有人受伤。"
    "诉求：请相关部门核实损失并协调赔偿。（工单编号：{ticket}）")
EXPLOSION_OVERSEAS = _split(
    "{city}化工厂爆炸 至少{d}人死亡||中国{city}西固区一家化工厂发生爆炸，当地官方通报称已造成{d}人死亡、{i}人受伤。"
    "社交媒体上流传的视频显示，现场浓烟冲天。|"
    "{city}爆炸事故再引中国化工安全监管质疑||事故造成{d}人死亡、{i}人受伤，网民质疑当地此前接到的安全隐患举报为何未获处理。")
EXPLOSION_VIDEO = _split(
    "实拍西固化工厂爆炸现场，浓烟冲天{emo} #西固化工厂爆炸|刚才的巨响，隔着几公里都听到了{emo} #金城|"
    "消防员逆行，致敬！{emo} #西固化工厂爆炸|现场救护车一辆接一辆，希望伤者平安{emo}")

POLLUTION_POSTS = {
    "neg": _split(
        "榆中县和平镇工业园旁边的河水又发黑了，一股臭味{emo}|#榆中河道污染# 河里死鱼漂了一片，拍给大家看看{emo}|"
        "工业园半夜偷排，白天查的时候就停了，这招用了多少年了？{emo}|河边的菜地都不敢浇了，这水谁敢用{emo}|"
        "孩子这几天咳嗽，晚上那股化工味太冲了，@{official} 管不管？{emo}|"
        "反映了一个月了，每次都说在调查，到底查出什么了？{emo}|河道污染这么严重，环评是怎么通过的？{emo}|"
        "第{n}天了，臭味越来越重，村里老人都说从没见过这样{emo}|这是要把我们往绝路上逼吗？水也不能喝了{emo}"),
    "neu": _split(
        "有人知道榆中和平镇那条河最近怎么了吗？|听说环保局去工业园取样了，等结果{emo}|"
        "榆中河道的事有后续吗？蹲一个{emo}"),
    "pos": _split(
        "环保局今天来人了，连夜取样，希望有个说法{emo}|终于停产整改了，感谢媒体关注{emo}|"
        "河道开始清淤了，看到希望了{emo}"),
}
POLLUTION_COMPLAINTS = _split(
    "榆中县和平镇工业园区附近河道水体发黑，有刺鼻异味，河里出现死鱼。|"
    "和平镇工业园区企业疑似夜间偷排污水，沿河村民家中异味严重，老人孩子咳嗽。|"
    "和平镇河道污水流入农田灌溉渠，村民不敢浇地。|"
    "此前已反映河道污染问题，至今未见处理结果，臭味越来越重。")
POLLUTION_NEWS = _split(
    "榆中县一河道疑遭污染 村民：臭味持续多日||近日，榆中县和平镇多名村民反映，工业园区附近河道水体发黑、伴有刺鼻异味，"
    "并出现死鱼。{city}生态环境局榆中分局表示，已对周边企业开展排查并取样送检。|"
    "榆中县河道污染追踪：涉事企业已停产整改||{city}生态环境局通报，经监测，和平镇工业园区宏发建材有限公司存在违法"
    "排污行为，已责令停产整改并立案调查。|"
    "河水为何变黑？记者探访榆中县和平镇工业园区||记者沿河道走访发现，多处排污口有污水流出，附近村民对此意见很大。")

# Day of the incident -> (site, story in POLLUTION_NEWS): local paper first, national outlets later.
POLLUTION_COVERAGE = {3: (("金城晚报", 0),), 5: (("澎湃新闻", 0), ("金城日报", 2)),
                      6: (("金城日报", 1), ("中国新闻网", 1), ("人民网", 1))}

HEATING_TICKET = (
    "关于安宁区滨河家园小区停水停暖的诉求||来电人反映：其系安宁区滨河家园小区{b}号楼业主，该小区自{date}起停水，"
    "暖气也不热，室内温度仅{temp}度，家中有老人小孩，联系鑫源物业无人接听。诉求：请尽快恢复供水供暖，并督促物业"
    "说明原因。（工单编号：{ticket}）")
HEATING_BOARD = (
    "安宁区滨河家园小区停水停暖，物业失联||领导您好：安宁区滨河家园小区{b}号楼从{date}开始停水，暖气不热，"
    "屋里只有{temp}度，物业电话打不通，老人孩子都冻病了，望尽快解决，谢谢！")
HEATING_MAIL = (
    "关于安宁区滨河家园小区停水停暖问题的反映||尊敬的领导：您好！我是安宁区滨河家园小区{b}号楼的业主。"
    "自{date}起小区停水停暖，室内温度{temp}度，鑫源物业至今无人回应。恳请责成有关部门尽快恢复供水供暖。此致 敬礼！")
HEATING_SOCIAL = _split(
    "#安宁区滨河家园# 停水第{n}天，暖气也不热，物业人呢？{emo}|滨河家园的邻居们，12345打了没？越多人打越快{emo}|"
    "零下的天，家里{temp}度，孩子冻得发烧了{emo}|滨河家园停水停暖，物业电话一直占线{emo}")

RUMOUR_ROOT = ("#七里河区学校食堂# 重磅！七里河区某小学食堂被曝使用过期变质肉，已经有好几个孩子吃了住院了，"
               "学校还在瞒着家长！有孩子在这上学的赶紧看看{emo} 转发让更多家长知道！")
RUMOUR_RELAY = _split(
    "家长们注意了！{emo}|太可怕了，孩子在这上学的赶紧问问|必须严查！{emo}|这是真的吗？求证|"
    "转给家长群了|我家孩子昨天也说肚子疼{emo}|黑心食堂，拉出去{emo}|学校出来说句话！|"
    "@金城教育发布 请回应|扩散！{emo}")
RUMOUR_AFTER = _split("原来是谣言，造谣的该抓{emo}|辟谣了，大家别传了|还好是假的{emo}|造谣成本太低了")
RUMOUR_DEBUNK = ("【辟谣】近日，网传“七里河区某小学食堂使用过期变质肉致学生住院”。经{city}市场监管局、教育局联合"
                 "现场核查，该校食堂食材进货台账、留样记录齐全，抽检结果合格，未发现学生因食堂就餐就医情况。"
                 "网传信息不实，造谣者已被公安机关依法处理，请广大网友不信谣、不传谣。")
RUMOUR_DEBUNK_REPOSTS = _split("感谢辟谣{emo}|谣言止于智者|造谣者必须严惩{emo}|转发辟谣|还是要相信官方通报")
RUMOUR_RELAYERS = ("金城家长圈", "七里河吃喝玩乐", "甘肃小新闻", "西北热点君", "金城同城播报", "兰山生活通",
                   "全国热点速递")

INCIDENT_SPECS: tuple[dict, ...] = (
    dict(key="explosion", title="西固区鑫达化工有限公司爆炸事故", topic="安全生产", region="西固区",
         grade="一级", day=-4, start_hm=(14, 20)),
    dict(key="river_pollution", title="榆中县和平镇工业园区河道污染", topic="环境污染", region="榆中县",
         grade="二级", day=-12, start_hm=(0, 0)),
    dict(key="heating_outage", title="安宁区滨河家园小区停水停暖、物业失联", topic="物业小区", region="安宁区",
         grade="三级", day=-8, start_hm=(7, 30)),
    dict(key="canteen_rumour", title="网传七里河区某小学食堂使用过期肉（谣言）", topic="食品药品", region="七里河区",
         grade="二级", day=-2, start_hm=(20, 30)),
)
# Handling events as (step, hours after the incident starts, note).
INCIDENT_EVENTS: dict[str, tuple[tuple[str, float, str], ...]] = {
    "explosion": (
        ("监测发现", 0.2, "微博出现“西固巨响”“浓烟”帖文，系统触发突发词预警"),
        ("核实", 0.45, "与西固区应急管理局电话核实：鑫达化工厂房爆炸起火，有人员伤亡"),
        ("研判定级", 0.55, "涉及人员死亡、主流媒体介入、境外媒体关注，定为一级"),
        ("报送", 0.75, "30分钟内向市委网信办、市应急管理局报送舆情快报"),
        ("批办/交办", 1.1, "市领导批示：全力救援，第一时间发布权威信息；交西固区政府牵头处置"),
        ("处置", 1.5, "开通伤员救治、群众安置信息专线，现场设新闻联络点"),
        ("公开回应", 3.2, "“金城发布”发布情况通报（伤亡人数、救援进展）"),
        ("公开回应", 22.0, "召开新闻发布会，通报事故原因调查和善后安排"),
        ("跟踪", 30.0, "持续监测网民对追责、环境监测的关注"),
        ("办结/化解", 48.0, "舆情热度回落至基线，形成专报并归档"),
    ),
    "river_pollution": (
        ("监测发现", 34.0, "贴吧、微博出现多条河水发黑、异味帖文"),
        ("核实", 52.0, "生态环境局榆中分局现场取样，初步确认存在异常排放"),
        ("研判定级", 82.0, "多平台传播、负面声音持续上升、主流媒体跟进，定为二级"),
        ("报送", 83.0, "向市委网信办报送重要舆情摘报"),
        ("批办/交办", 86.0, "交办榆中县政府、市生态环境局限期查处并回应"),
        ("处置", 124.0, "涉事企业停产整改，河道清淤"),
        ("公开回应", 140.0, "市生态环境局发布通报，公布监测结果与处理情况"),
        ("跟踪", 172.0, "跟踪河道清淤进展和网民反馈"),
        ("办结/化解", 226.0, "整改验收通过，网民负面声音明显下降"),
    ),
    "heating_outage": (
        ("监测发现", 3.0, "12345热线同一小区停水停暖工单集中出现"),
        ("核实", 5.0, "安宁区住建局联系街道核实：供水管道爆裂、物业失联"),
        ("研判定级", 5.5, "本地诉求集中、未见主流媒体，定为三级"),
        ("批办/交办", 6.0, "交办安宁区住建局、所在街道牵头处置"),
        ("处置", 20.0, "抢修供水管道，临时送水上门"),
        ("公开回应", 27.0, "街道在留言板和小区群发布抢修进展"),
        ("跟踪", 40.0, "回访来电群众，督促物业公开维修计划"),
        ("办结/化解", 58.0, "供水供暖恢复，工单全部回复办结"),
    ),
    "canteen_rumour": (
        ("监测发现", 1.5, "微博“七里河区学校食堂”话题转发快速上升"),
        ("核实", 4.0, "市场监管局、教育局夜间赴学校核查台账与留样"),
        ("研判定级", 4.5, "涉校涉食品、转发层级深，定为二级"),
        ("报送", 5.0, "向市委网信办报送舆情快报"),
        ("批办/交办", 12.0, "交办公安机关调查造谣者，市场监管局准备通报"),
        ("公开回应", 14.5, "“金城网警”“七里河发布”发布辟谣通报"),
        ("跟踪", 20.0, "监测辟谣后转发情况，仍有少量质疑"),
    ),
}


def _start(spec: dict, day0: pd.Timestamp) -> pd.Timestamp:
    hour, minute = spec["start_hm"]
    return day0 + pd.Timedelta(days=spec["day"], hours=hour, minutes=minute)


def _incident_rows(posts: _Posts, channel: str, secs: np.ndarray, texts: list[str], spec: dict,
                   sites=None, authors=None, tones=None, boost: float = 3.0) -> np.ndarray:
    """Originals of an incident with pre-written texts ('title||text' splits into both)."""
    n = len(secs)
    rng = posts.rng
    sites = list(_sites(rng, channel, n)) if sites is None else list(sites)
    titles, bodies = [], []
    for text in texts:
        title, _, body = text.rpartition("||")
        titles.append(title or None)
        bodies.append(body)
    if authors is None:
        authors = posts.user_names(n) if channel not in TICKET_CHANNELS else [None] * n
    return posts.add(channel=[channel] * n, site=sites, author_id=list(authors), title=titles, text=bodies,
                     t=list(secs), parent=[-1] * n, region=[spec["region"]] * n, topic=[spec["topic"]] * n,
                     post_type=["original"] * n, tone=list(tones if tones is not None else ["neg"] * n), url=[None] * n,
                     boost=[boost] * n)


def _fill_pool(rng: np.random.Generator, pool: tuple[str, ...], n: int, slots: dict, tone: str = "neg",
               video: bool = False) -> list[str]:
    draws = rng.integers(0, 2**62, size=(n, 3))
    emos = (EMO_VIDEO if video else EMO_WEIBO)[tone]
    return [pool[d[0] % len(pool)].format_map({**slots, "emo": emos[d[1] % len(emos)] if d[2] % 3 else "",
                                                "n": 2 + d[2] % 6}) for d in draws]


def _secs(posts: _Posts, start: pd.Timestamp, offsets_h: np.ndarray) -> np.ndarray:
    return np.sort(((start - posts.t0).total_seconds() + offsets_h * 3600).astype(np.int64))


def _explosion(posts: _Posts, spec: dict, start: pd.Timestamp) -> list[np.ndarray]:
    rng = posts.rng
    slots = {"city": CITY, "d": 3, "i": 27, "e": 1200 + int(rng.integers(0, 300)), "date": f"{start:%m月%d日}",
             "official": "金城应急管理"}

    def burst(n: int) -> np.ndarray:  # most within 4 h, a tail over two days
        fast = rng.gamma(2.0, 0.7, size=n)
        slow = rng.exponential(14.0, size=n)
        return np.minimum(np.where(rng.random(n) < 0.85, fast, slow), 44.0)

    out = []
    wb_secs = _secs(posts, start, burst(170))
    wb = _incident_rows(posts, "微博", wb_secs, _fill_pool(rng, EXPLOSION_WEIBO, 170, slots), spec)
    official_secs = _secs(posts, start, np.array([3.2, 9.0, 26.0]))
    gov = _incident_rows(posts, "微博", official_secs, [t.format_map(slots) for t in EXPLOSION_OFFICIAL], spec,
                         authors=["金城发布", "金城应急管理", "金城发布"], tones=["gov"] * 3, boost=30.0)
    roots = np.concatenate([wb, gov])
    pop = rng.lognormal(0, 1.5, size=len(roots))
    parents = roots[rng.choice(len(roots), size=130, p=pop / pop.sum())]
    reposts = _add_children(posts, "微博", parents, "repost", scale_s=1800, tones=np.full(130, "neg"),
                            texts=_fill_pool(rng, EXPLOSION_COMMENTS, 130, slots))
    out += [roots, reposts]
    news_sites = [*MAINSTREAM_SITES, "澎湃新闻", "中国新闻网", "金城日报", *MAINSTREAM_SITES, "澎湃新闻", "金城晚报",
                  "中国新闻网"]
    news_secs = _secs(posts, start, np.sort(1.0 + rng.gamma(2.0, 1.2, size=len(news_sites))))
    news = _incident_rows(posts, "新闻", news_secs, _fill_pool(rng, EXPLOSION_NEWS, len(news_sites), slots), spec,
                          sites=news_sites, authors=list(_pick(rng, REPORTERS, np.ones(len(REPORTERS)), 12)),
                          tones=["neu"] * 12, boost=20.0)
    portal_secs = _secs(posts, start, 1.2 + rng.gamma(2.0, 1.0, size=10))
    portal = _incident_rows(posts, "门户网站", portal_secs, _fill_pool(rng, EXPLOSION_NEWS, 10, slots), spec,
                            authors=list(_pick(rng, REPORTERS, np.ones(len(REPORTERS)), 10)), tones=["neu"] * 10,
                            boost=20.0)
    articles = np.concatenate([news, portal])
    comments = _add_children(posts, "新闻跟帖", articles[rng.integers(0, len(articles), size=120)], "comment",
                             scale_s=5400, tones=np.full(120, "neg"),
                             texts=_fill_pool(rng, EXPLOSION_COMMENTS, 120, slots))
    video_secs = _secs(posts, start, burst(40))
    videos = _incident_rows(posts, "抖音", video_secs, _fill_pool(rng, EXPLOSION_VIDEO, 40, slots, video=True), spec)
    video_comments = _add_children(posts, "抖音", videos[rng.integers(0, 40, size=60)], "comment", scale_s=3600,
                                   tones=np.full(60, "neg"), texts=_fill_pool(rng, EXPLOSION_COMMENTS, 60, slots))
    ks = _incident_rows(posts, "快手", _secs(posts, start, burst(15)),
                        _fill_pool(rng, EXPLOSION_VIDEO, 15, slots, video=True), spec)
    wechat = _incident_rows(posts, "微信公众号", _secs(posts, start, 1.5 + rng.gamma(2.0, 2.0, size=12)),
                            _fill_pool(rng, EXPLOSION_NEWS, 12, slots), spec,
                            authors=list(_pick(rng, WECHAT_ACCOUNTS, np.ones(len(WECHAT_ACCOUNTS)), 12)),
                            tones=["neu"] * 12)
    tieba = _incident_rows(posts, "贴吧", _secs(posts, start, burst(20)),
                           [f"西固化工厂爆炸了||{t}" for t in _fill_pool(rng, EXPLOSION_WEIBO, 20, slots)], spec)
    overseas_texts = _fill_pool(rng, EXPLOSION_OVERSEAS, 5, slots)  # converted with all 境外媒体 posts
    overseas_sites = ["联合早报", "BBC中文", "联合早报", "德国之声中文", "BBC中文"]
    overseas = _incident_rows(posts, "境外媒体", _secs(posts, start, np.array([4.0, 5.5, 9.0, 20.0, 30.0])),
                              overseas_texts, spec, sites=overseas_sites, authors=overseas_sites)
    hotline_n = 25
    tickets = [EXPLOSION_HOTLINE[i % 2].format(ticket=f"JC{start:%Y%m%d}{400000 + i * 37:06d}")
               for i in range(hotline_n)]
    hotline = _incident_rows(posts, "12345热线", _secs(posts, start, 0.5 + rng.gamma(2.0, 3.0, size=hotline_n)),
                             tickets, spec, boost=0.0)
    return out + [news, portal, comments, videos, video_comments, ks, wechat, tieba, overseas, hotline]


def _pollution(posts: _Posts, spec: dict, start: pd.Timestamp) -> list[np.ndarray]:
    rng = posts.rng
    daily = (6, 12, 22, 38, 60, 95, 120, 55, 22)
    negative = (0.45, 0.55, 0.62, 0.7, 0.78, 0.85, 0.6, 0.45, 0.35)
    slots = {"city": CITY, "official": "金城生态环境"}
    out = []
    social = ("微博", "微博", "微博", "抖音", "贴吧", "论坛", "快手", "留言板", "12345热线", "微信公众号")
    articles = []
    for day, (n, neg) in enumerate(zip(daily, negative, strict=True)):
        offsets = day * 24 + rng.choice(24, size=n, p=np.asarray(HOUR_PROFILE["social"]) / sum(HOUR_PROFILE["social"]))
        secs = _secs(posts, start, offsets + rng.random(n))
        tones = np.where(rng.random(n) < neg, "neg", np.where(rng.random(n) < (0.7 if day >= 5 else 0.3), "pos", "neu"))
        channels = _pick(rng, social, np.ones(len(social)), n)
        for channel in dict.fromkeys(social):
            mask = channels == channel
            if not mask.any():
                continue
            texts = []
            for tone in tones[mask]:
                if channel in ("12345热线", "留言板"):
                    detail = POLLUTION_COMPLAINTS[int(rng.integers(0, len(POLLUTION_COMPLAINTS)))]
                    ticket = f"JC{start + pd.Timedelta(days=day):%Y%m%d}{int(rng.integers(0, 10**6)):06d}"
                    text = (f"关于榆中县和平镇河道污染的诉求||来电人反映：{detail}诉求：请环保部门查处排污企业，"
                            f"公开监测结果。（工单编号：{ticket}）" if channel == "12345热线"
                            else f"榆中县和平镇河道污染问题||生态环境局领导您好：{detail}望尽快查处，谢谢！")
                else:
                    text = _fill_pool(rng, POLLUTION_POSTS[tone], 1, slots, tone=tone)[0]
                    if channel in ("论坛", "贴吧", "微信公众号"):
                        text = f"榆中县和平镇河道污染问题||{text}"
                texts.append(text)
            out.append(_incident_rows(posts, channel, secs[mask], texts, spec, tones=tones[mask],
                                      boost=0.0 if channel == "12345热线" else 1.0 + day * 0.4))
        if day in POLLUTION_COVERAGE:
            news_sites, stories = zip(*POLLUTION_COVERAGE[day], strict=True)
            k = len(news_sites)
            texts = [POLLUTION_NEWS[j].format_map(slots) for j in stories]
            news_secs = _secs(posts, start, day * 24 + 10.0 + np.arange(k) * 2.5)
            articles.append(_incident_rows(posts, "新闻", news_secs, texts, spec, sites=list(news_sites),
                                           authors=list(_pick(rng, REPORTERS, np.ones(len(REPORTERS)), k)),
                                           tones=["neu"] * k, boost=10.0))
    articles = np.concatenate(articles)
    comments = _add_children(posts, "新闻跟帖", articles[rng.integers(0, len(articles), size=40)], "comment",
                             scale_s=6 * 3600, tones=np.full(40, "neg"),
                             texts=_fill_pool(rng, POLLUTION_POSTS["neg"], 40, slots))
    return out + [articles, comments]


def _heating(posts: _Posts, spec: dict, start: pd.Timestamp) -> list[np.ndarray]:
    rng = posts.rng
    plan = (("12345热线", HEATING_TICKET, 120), ("留言板", HEATING_BOARD, 35), ("市长信箱", HEATING_MAIL, 15),
            ("书记信箱", HEATING_MAIL, 5))
    office = np.asarray(HOUR_PROFILE["office"]) + 0.15
    out = []
    for channel, template, n in plan:
        day = np.where(rng.random(n) < 0.6, 0, 1)
        offsets = day * 24 + rng.choice(24, size=n, p=office / office.sum()) + rng.random(n)
        offsets = np.where(day == 0, np.maximum(offsets, 8.0 + rng.random(n)), offsets)
        secs = _secs(posts, start.normalize(), offsets)
        draws = rng.integers(0, 10**6, size=(n, 3))
        texts = [template.format(b=1 + d[0] % 24, date=f"{start:%m月%d日}", temp=9 + d[1] % 5,
                                 ticket=f"JC{start:%Y%m%d}{d[2]:06d}") for d in draws]
        authors = None if channel == "12345热线" else [f"{PETITIONERS[i % 10][0]}**" for i in rng.integers(0, 10, n)]
        sites = None if channel != "留言板" else ["金城市网上留言板"] * n
        out.append(_incident_rows(posts, channel, secs, texts, spec, authors=authors, sites=sites, boost=0.0))
    slots = {"temp": 12, "official": "安宁发布"}
    for channel, n in (("贴吧", 15), ("微博", 15)):
        secs = _secs(posts, start.normalize(), 8.0 + rng.random(n) * 36.0)
        texts = _fill_pool(rng, HEATING_SOCIAL, n, slots)
        if channel == "贴吧":
            texts = [f"滨河家园停水停暖||{t}" for t in texts]
        out.append(_incident_rows(posts, channel, secs, texts, spec, boost=0.5))
    return out


def _rumour(posts: _Posts, spec: dict, start: pd.Timestamp) -> list[np.ndarray]:
    """A repost cascade: a relay chain seven accounts deep, then preferential attachment by everyone else."""
    rng, cols = posts.rng, posts.cols
    slots = {"city": CITY}
    debunk_h = 14.5
    root = _incident_rows(posts, "微博", _secs(posts, start, np.array([0.0])),
                          [RUMOUR_ROOT.format(emo="[怒]")], spec, authors=["七里河宝妈小雨"], boost=5.0)
    nodes = [int(root[0])]
    for depth, name in enumerate(RUMOUR_RELAYERS):  # each relayer reposts the previous one
        parent = np.array([nodes[-1]])
        gap = 1800 + 600 * depth
        added = _add_children(posts, "微博", parent, "repost", scale_s=gap, tones=np.array(["neg"]),
                              texts=_fill_pool(rng, RUMOUR_RELAY, 1, slots), authors=[name], boost=8.0)
        nodes.append(int(added[0]))
    weight = [12.0] + [6.0] * len(RUMOUR_RELAYERS)
    n_reposts = 300
    for _ in range(n_reposts):
        w = np.asarray(weight)
        parent = nodes[int(rng.choice(len(nodes), p=w / w.sum()))]
        before_debunk = cols["t"][parent] < (start - posts.t0).total_seconds() + debunk_h * 3600
        pool = RUMOUR_RELAY if before_debunk else RUMOUR_AFTER
        added = _add_children(posts, "微博", np.array([parent]), "repost", scale_s=2400,
                              tones=np.array(["neg"]), texts=_fill_pool(rng, pool, 1, slots))
        nodes.append(int(added[0]))
        weight.append(0.4 + rng.pareto(2.0))
    debunk = _incident_rows(posts, "微博", _secs(posts, start, np.array([debunk_h, debunk_h + 0.3])),
                            [RUMOUR_DEBUNK.format_map(slots)] * 2, spec, authors=["金城网警", "七里河发布"],
                            tones=["gov", "gov"], boost=20.0)
    debunk_parents = debunk[rng.integers(0, 2, size=70)]
    debunk_reposts = _add_children(posts, "微博", debunk_parents, "repost", scale_s=2 * 3600,
                                   tones=np.full(70, "pos"), texts=_fill_pool(rng, RUMOUR_DEBUNK_REPOSTS, 70, slots,
                                                                               tone="pos"))
    news = _incident_rows(posts, "新闻", _secs(posts, start, np.array([debunk_h + 1.5, debunk_h + 3.0])),
                          [f"七里河区一小学食堂“使用过期肉”系谣言||{RUMOUR_DEBUNK.format_map(slots)}"] * 2, spec,
                          sites=["金城日报", "金城晚报"], authors=["记者 刘婷", "记者 何芳"], tones=["neu", "neu"])
    return [np.asarray(nodes), debunk, debunk_reposts, news]


INCIDENT_BUILDERS = {"explosion": _explosion, "river_pollution": _pollution, "heating_outage": _heating,
                     "canteen_rumour": _rumour}


# ---- assembling the frame -------------------------------------------------------------------------------

def _nicknames(rng: np.random.Generator) -> tuple[str, ...]:
    names = [f"{h}{c}{t}" for h in NICK_HEAD for c in NICK_CORE for t in NICK_TAIL]
    names = list(dict.fromkeys(names))
    return tuple(names[i] for i in rng.permutation(len(names)))


def _resolve_end(end: datetime | None) -> pd.Timestamp:
    if end is None:
        return pd.Timestamp.now(tz=TIMEZONE).floor("h")
    ts = pd.Timestamp(end)
    return ts.tz_localize(TIMEZONE) if ts.tzinfo is None else ts.tz_convert(TIMEZONE)


def _counts(posts: _Posts, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Heavy-tailed engagement per channel; a parent counts at least the children present in the frame."""
    n = len(frame)
    base_read = frame["channel"].map({c: v[0] for c, v in COUNT_BASE.items()}).fillna(0.0).to_numpy()
    base_like = frame["channel"].map({c: v[1] for c, v in COUNT_BASE.items()}).fillna(0.0).to_numpy()
    boost = np.asarray(posts.cols["boost"], dtype=float)
    reach = rng.lognormal(0.0, 1.4, size=n) * np.where(boost > 0, 1.0 + boost, 0.0)
    read = np.floor(base_read * reach).astype(np.int64)
    like = np.floor(base_like * reach * rng.lognormal(0.0, 0.6, size=n)).astype(np.int64)
    comment = np.floor(like * 0.3 * rng.lognormal(0.0, 0.7, size=n)).astype(np.int64)
    repost = np.floor(like * 0.25 * rng.lognormal(0.0, 0.8, size=n)).astype(np.int64)
    parents = np.asarray(posts.cols["parent"])
    has_parent = parents >= 0
    kinds = np.asarray(posts.cols["post_type"], dtype=object)
    child_reposts = np.bincount(parents[has_parent & (kinds == "repost")], minlength=n)
    child_comments = np.bincount(parents[has_parent & (kinds == "comment")], minlength=n)
    no_public = frame["channel"].isin(TICKET_CHANNELS + ("境外媒体",)).to_numpy()
    read = np.where(has_parent, 0, read)  # comments and reposts show likes, not reads
    repost = np.where(kinds == "comment", 0, repost)
    frame["repost_count"] = np.where(no_public, 0, np.maximum(repost, child_reposts))
    frame["comment_count"] = np.where(no_public, 0, np.maximum(comment, child_comments))
    frame["like_count"] = np.where(no_public, 0, like)
    frame["read_count"] = np.where(no_public, 0, read)
    return frame


@lru_cache(maxsize=4)
def _build(days: int, seed: int, end: pd.Timestamp) -> tuple[pd.DataFrame, tuple[dict, ...]]:
    """The frame and the incident descriptions together (cached: both public functions read them)."""
    if days < MIN_DAYS:
        raise ValueError(f"演示数据至少需要 {MIN_DAYS} 天（收到 {days} 天）")
    rng = np.random.Generator(np.random.PCG64(seed))
    t0 = end - pd.Timedelta(days=days)
    posts = _Posts(rng, t0, days * 86400, _nicknames(rng))
    _background(posts, days)
    day0 = end.normalize()
    incident_rows = {}
    for spec in INCIDENT_SPECS:
        incident_rows[spec["key"]] = np.concatenate(INCIDENT_BUILDERS[spec["key"]](posts, spec, _start(spec, day0)))

    cols = posts.cols
    n = len(posts)
    secs = np.asarray(cols["t"], dtype=np.int64)

    order = np.lexsort((np.arange(n), secs))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    ids = np.asarray([f"demo-{i:06d}" for i in range(n)], dtype=object)
    parent = np.asarray(cols["parent"], dtype=np.int64)
    root = parent.copy()
    for i in range(n):  # parents are always created before their children
        if parent[i] >= 0 and root[parent[i]] >= 0:
            root[i] = root[parent[i]]
    created = t0 + pd.to_timedelta(secs, unit="s")
    collect_delay = np.minimum(rng.exponential(1800.0, size=n).astype(np.int64) + 60, days * 86400 - secs)
    collected = t0 + pd.to_timedelta(secs + collect_delay, unit="s")
    url_seed = rng.integers(0, 2**62, size=n).tolist()
    uid_pool = rng.integers(10**9, 8 * 10**9, size=n)
    uids: dict[str | None, int] = {}  # numeric account ids in order of first appearance
    for author in cols["author_id"]:
        uids.setdefault(author, int(uid_pool[len(uids)]))
    dates = _yyyymmdd(created)
    urls = [
        None if (cols["post_type"][i] == "comment" and cols["channel"][i] != "贴吧") or cols["site"][i] not in SITE_URLS
        else SITE_URLS[cols["site"][i]](url_seed[i], dates[i], uids[cols["author_id"][i]])
        for i in range(n)
    ]
    urls = [u if cols["channel"][i] != "贴吧" or cols["post_type"][i] != "comment"
            else f"{urls[parent[i]]}?pid={url_seed[i] % 10**11}" for i, u in enumerate(urls)]
    frame = pd.DataFrame({
        "post_id": ids[rank],
        "channel": cols["channel"], "site": cols["site"], "url": urls, "author_id": cols["author_id"],
        "title": cols["title"], "text": cols["text"],
        "created_at": created.astype(f"datetime64[us, {TIMEZONE}]"),
        "collected_at": collected.astype(f"datetime64[us, {TIMEZONE}]"),
        "parent_id": [ids[rank[p]] if p >= 0 else None for p in parent],
        "root_id": [ids[rank[r]] if r >= 0 else None for r in root],
        "post_type": cols["post_type"], "region": cols["region"], "topic": cols["topic"],
    })
    frame = _counts(posts, frame, rng)
    frame = frame.iloc[order].reset_index(drop=True)

    incidents = []
    for spec in INCIDENT_SPECS:
        rows = incident_rows[spec["key"]]
        start = _start(spec, day0)
        times = created[rows]
        hour_counts = pd.Series(1, index=times.floor("h")).groupby(level=0).sum()
        events = [(step, start + pd.Timedelta(hours=h), note) for step, h, note in INCIDENT_EVENTS[spec["key"]]]
        incidents.append({
            "key": spec["key"], "title": spec["title"], "topic": spec["topic"], "region": spec["region"],
            "channels": list(dict.fromkeys(cols["channel"][i] for i in rows[np.argsort(secs[rows], kind="stable")])),
            "start": times.min(), "peak": hour_counts.idxmax(), "end": times.max(), "grade": spec["grade"],
            "events": events, "closed": events[-1][0] == "办结/化解",
            "post_ids": sorted(ids[rank[rows]].tolist()),
        })
    return frame, tuple(incidents)


def generate_posts(days: int = 60, seed: int = 7, end: datetime | None = None) -> pd.DataFrame:
    """Demo posts over `days` days up to `end` (default: now in Asia/Shanghai, truncated to the hour)."""
    frame, _ = _build(days, seed, _resolve_end(end))
    return frame.copy()


def embedded_incidents(end: datetime | None = None, days: int = 60, seed: int = 7) -> list[dict]:
    """The incidents planted in `generate_posts(days, seed, end)`: shape, timeline, handling and post ids.

    Each dict has: key, title, topic, region, channels (in order of first post), start / peak (hour with the
    most posts) / end (tz-aware Timestamps of its posts), grade ('一级'/'二级'/'三级', what a grader should
    reach), events [(step, timestamp, note)], closed (whether the last event is 办结/化解) and post_ids.
    """
    _, incidents = _build(days, seed, _resolve_end(end))
    return copy.deepcopy(list(incidents))




def load_incidents(store, incidents: list[dict]) -> list[str]:
    """Record the embedded incidents as an office would have: posts linked, lifecycle events, grades.

    Each is graded by the rules at the moment of its 研判定级 event, so the demo shows computed grades
    and their reasons; where the rules disagree with the analysts' planned grade, the analysts' grade
    stands as an override with a stated reason, as in real work.
    """
    from analysis import incidents as workflow

    created = []
    for number, item in enumerate(sorted(incidents, key=lambda i: i["events"][0][1]), start=1):
        step, found_at, note = item["events"][0]
        incident_id = f"INC-{found_at:%Y%m%d}-{number:02d}"
        workflow.create_incident(store, item["title"], list(item["post_ids"]), actor="值班监测员", source="demo",
                                 topic=item["topic"], region=item["region"], first_seen_at=found_at,
                                 incident_id=incident_id, note=note)
        for step, at, note in item["events"][1:]:
            workflow.add_event(store, incident_id, step, "研判人员", at=at, note=note)
            if step == "研判定级":
                computed = workflow.grade_incident(store, incident_id, at=at, actor="system")
                if computed.grade != item["grade"]:
                    workflow.override_grade(store, incident_id, item["grade"], note, actor="研判人员")
        created.append(incident_id)
    return created


def load_alerts(store, now: pd.Timestamp, days: int = 60) -> int:
    """Install the default alert rules and replay them over the demo's history into the alert log.

    Back-testing finds when each rule would have fired; evaluating at exactly those moments stores the
    same alerts (with dedupe and cooldown) far faster than evaluating every hour. Alerts older than a
    day are shown as handled (acknowledged, then closed) by the duty officer, as in a working office.
    """
    from analysis import alerts

    alerts.install_default_rules(store, actor="系统管理员")
    fired = alerts.backtest(store, alerts.load_rules(store, enabled_only=True), now - pd.Timedelta(days=days), now)
    for moment in sorted(set(fired["fired_at"])):
        alerts.run(store, pd.Timestamp(moment), actor="system")
    log = alerts.list_alerts(store)
    for alert in log[log["fired_at"] < now - pd.Timedelta(days=1)].itertuples():
        alerts.acknowledge(store, int(alert.alert_id), "值班监测员")
        if alert.fired_at < now - pd.Timedelta(days=3):
            alerts.close(store, int(alert.alert_id), "值班监测员")
    return len(log)
