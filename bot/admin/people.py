from flask import Blueprint
from bot.admin.access import gate
bp = Blueprint("people", __name__, url_prefix="/people")
gate(bp, "admin")
@bp.get('/')
def index(**kw):
    return 'todo'
