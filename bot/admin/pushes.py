from flask import Blueprint
from bot.admin.access import gate
bp = Blueprint("pushes", __name__, url_prefix="/pushes")
gate(bp, "admin")
@bp.get('/')
def index(**kw):
    return 'todo'
