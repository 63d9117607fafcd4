"""Following, unfollowing, help, the menu, paging and anything nothing else matched."""
from __future__ import annotations

from handlers.router import Router
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


@router.fallback
def not_understood(ctx):
    """Answer what nothing matched with a short help."""
    return ctx.t("general.not_understood")


@router.non_text
def text_only(ctx):
    """Pictures, stickers, voice without recognition: say we read text."""
    return ctx.t("general.text_only")
