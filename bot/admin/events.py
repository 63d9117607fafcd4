from flask import Blueprint
from bot.admin.access import gate
bp = Blueprint("events", __name__, url_prefix="/events")
gate(bp, "admin")
@bp.get('/')
def index(**kw):
    return 'todo'
@bp.get('/<int:number>')
def detail(**kw):
    return 'todo'
