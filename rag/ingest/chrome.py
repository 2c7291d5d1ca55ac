"""Page chrome: the lines of a web page or scraped text that are the site's, not the report's.

Pure. One vocabulary for the HTML reader (lines left after structural cleaning)
and for cleaning any text (pages saved as .txt keep their chrome): navigation
and breadcrumbs, tool bars (打印 / 关闭 / 字号 大 中 小 / 下载 / 全屏 / 收藏 /
加大 还原 减小 / 分享), site footers (备案号, 版权所有, 主办单位…), view counters,
and the licence boilerplate wikis append ("Public domain", "false").
"""

from __future__ import annotations

import re

__all__ = ["is_chrome_line", "COUNTER_FIELD", "LICENCE_TAIL"]

_EDGE = " \t\r\n\f\v\u3000\xa0\u200b\ufeff"
_NAV = re.compile(r"^(?:您现在的位置|您的位置|当前位置|现在位置|所在位置|位置)\s*[:：]|^首页\s*[>»]")
_TOOL_WORDS = (
    "分享到|分享|微信|微博|新浪微博|腾讯微博|QQ空间|QQ好友|朋友圈|打印此页|打印本页|打印|关闭窗口|关闭本页|关闭|收藏|"
    "返回顶部|返回|字体|字号|大|中|小|默认|加大|减小|还原|下载|全屏|上一篇|下一篇|扫一扫在手机打开当前页|扫一扫|在手机上查看|"
    "视力保护色|保护视力色|繁體|简体|无障碍|长者模式|相关报道|相关新闻|责任编辑"
)
_TOOL = re.compile(rf"^(?:[\s|｜/【】\[\]（）()>:：·]*(?:{_TOOL_WORDS})[\s|｜/【】\[\]（）()>:：·]*)+$|^[【】\[\]]$")
_FOOTER_STRONG = re.compile(r"备案号|ICP备|ICP证|网站标识码|公网安备|版权所有|Copyright|©")
_FOOTER_WEAK = re.compile(r"主办单位|承办单位|技术支持|维护单位|网站地图|联系我们|网站纠错|建议使用|浏览器|分辨率")
_COUNTER_LINE = re.compile(r"^(?:浏览量|浏览次数|访问量|阅读量|点击数|阅读次数)[:：]?\s*\d*\s*$")
_LICENCE_LINE = re.compile(r"^(?:Public domain|false|true)$|^[-<>!/]+$", re.I)  # and "-->" left of a comment
# A view counter or font tool inside a header line ("发布时间:… 浏览量:337 字体:"): the site's, cut out.
COUNTER_FIELD = re.compile(r"(?:浏览量|浏览次数|访问量|阅读量|点击数|阅读次数)[:：]\s*\d*|【?(?<!文)字[体号][:：]?\s*(?:[大中小]\s*)*】?")  # not 发文字号
# Where a wiki's licence notice starts at the end of a text ("本作品是中华人民共和国的法律…属于公有领域").
LICENCE_TAIL = re.compile(r"本作品(?:是|采用|来自|在)[^\n]{0,40}(?:\n+[^\n]{0,60}){0,30}?(?:公有领域|著作权|版权|许可协议)")


def is_chrome_line(line: str) -> bool:
    """Whether a whole line is page chrome (a line of report text is never, even when it mentions 打印).

    >>> is_chrome_line("【打印】 【关闭】"), is_chrome_line("下载"), is_chrome_line("备案号:苏ICP备0001号")
    (True, True, True)
    >>> is_chrome_line("全年开展打印设备安全检查5次。")
    False
    """
    line = line.strip(_EDGE)
    if not line:
        return False
    if _NAV.match(line) or _TOOL.match(line) or _COUNTER_LINE.match(line) or _LICENCE_LINE.match(line):
        return True
    if len(line) > 150:
        return False
    return bool(_FOOTER_STRONG.search(line)) or len(set(_FOOTER_WEAK.findall(line))) >= 2
