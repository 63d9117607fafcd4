"""Following, unfollowing, help, the menu, paging and anything nothing else matched."""
from __future__ import annotations

from handlers.reading import numbered_word
from handlers.router import Router, instant
from handlers.spelling import suggest
from handlers.volunteer import scanned

router = Router()


@router.event("subscribe")
def welcome(ctx):
    """Greet a new follower, or welcome back a returning one."""
    returning = ctx.bot.followers.subscribe(ctx.openid)
    text = ctx.t("general.welcome_back" if returning else "general.welcome")
    if ctx.message.key.startswith("qrscene_"):  # followed by scanning a QR code: do what it is for, too
        done = scanned(ctx)
        text = text + "\n\n" + done if done else text
    return text


@router.event("unsubscribe")
def farewell(ctx):
    """Mark the follower inactive: no pushes until they return. WeChat shows no reply."""
    ctx.bot.followers.unsubscribe(ctx.openid)
    ctx.flow.end()
    return None


@router.keyword("帮助", "菜单", "help", "?", "？", "你好", "您好", "hi", "hello")
@router.click("HELP")
@instant
def help_text(ctx):
    """List what the account can do."""
    return ctx.t("general.help")


@router.keyword("更多", "下一页", "more")
def more(ctx):
    """Send the next page of a long answer."""
    page = ctx.bot.pager.next_page(ctx.openid)
    return page if page is not None else ctx.t("general.no_more")


@router.keyword("退订提醒", "取消提醒", "关闭提醒")
def reminders_off(ctx):
    """Stop quiz and event reminders for this user (notices about their own sign-ups still come)."""
    ctx.bot.followers.set_reminders(ctx.openid, on=False)
    return ctx.t("pushes.reminders_off")


@router.keyword("订阅提醒", "开启提醒", "恢复提醒")
def reminders_on(ctx):
    """Turn reminders back on."""
    ctx.bot.followers.set_reminders(ctx.openid, on=True)
    return ctx.t("pushes.reminders_on")


@router.keyword("谢谢", "谢谢你", "多谢", "感谢", "谢了", "thanks", "thank you", "好的", "好", "嗯", "嗯嗯", "ok",
                "收到", "知道了", "明白了", "👍", "🙏", "[强]", "[抱拳]", "[OK]", "[握手]", "[玫瑰]", "[爱心]")
@instant
def thanks(ctx):
    """Thanks and acknowledgements: a short friendly answer."""
    return ctx.t("general.thanks")


@router.keyword("在吗", "在不在", "有人吗", "在么")
@instant
def greeting(ctx):
    """`在吗`: yes, and what to do."""
    return ctx.t("general.greeting", committee=ctx.bot.settings.committee_name)


@router.keyword("人工", "人工客服", "转人工", "客服", "联系", "联系方式", "联系我们", "电话", "工作人员")
@instant
def contact(ctx):
    """Who to reach, and when: the committee's contact and office hours (settings)."""
    s = ctx.bot.settings
    return ctx.t("general.contact", committee=s.committee_name, contact=s.committee_contact,
                 hours=s.committee_hours)


@router.fallback
def not_understood(ctx):
    """Answer what nothing matched: the command it nearly was, or a short help."""
    router_ = ctx.bot.router
    word = numbered_word(ctx.text, router_.numbered_words)
    if word:  # `报名 abc`, `活动第几个`: a numbered command whose number we could not read
        return ctx.t("general.number_format", word=word)
    meant = suggest(ctx.text, {w for w in router_.keywords if not w.isascii()} | router_.words)
    if meant:
        return ctx.t("general.maybe", words=ctx.t("general.maybe_or").join(f"「{w}」" for w in meant))
    return ctx.t("general.not_understood")


@router.non_text
def text_only(ctx):
    """Pictures, stickers, voice without recognition: say we read text."""
    return ctx.t("general.text_only")
