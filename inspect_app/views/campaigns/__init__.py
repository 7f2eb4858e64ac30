"""Campaigns (专项行动): the list, definition and editing, spot-check draws (部门抽查) and their
tasks, the building acceptance round (逐栋验收) and the supervision candidates (挂牌督办候选).

One blueprint, ``campaigns``; its routes live in ``definitions``, ``spot_checks``, ``acceptance``
and ``candidates``."""

from flask import Blueprint

bp = Blueprint("campaigns", __name__)

# The routes register themselves on ``bp`` when their modules are imported.
from . import acceptance, candidates, definitions, spot_checks  # noqa: E402, F401
