from flask import Blueprint
from bot.admin.access import gate
bp = Blueprint("jobs", __name__, url_prefix="/jobs")
gate(bp, "admin")
@bp.get('/')
def index(**kw):
    return 'todo'
