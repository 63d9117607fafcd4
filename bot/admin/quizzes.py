from flask import Blueprint
from bot.admin.access import gate
bp = Blueprint("quizzes", __name__, url_prefix="/quizzes")
gate(bp, "admin")
@bp.get('/')
def index(**kw):
    return 'todo'
@bp.get('/<sid>')
def session(**kw):
    return 'todo'
