"""High-rise classification of civil buildings (GB 50016-2014 (2018) 5.1.1; MEM order 5 art. 50).

Pure functions of a building's use, height and storeys. Heights are compared as ``Decimal``
built from the decimal text of the number, so 27.0 and 27.00 are the same height and a float
such as 27.01 means exactly 27.01 m, not its binary neighbour.

Uses:

* ``residential``: 住宅建筑 (a residential tower with shops of the 商业服务网点 kind on its lower
  floors is still residential, as in GB 50016 table 5.1.1).
* ``public``: 公共建筑, which per MEM order No. 5 art. 50 includes dormitories and apartments.
* ``mixed``: residential combined with other functions beyond 商业服务网点 (商住楼). GB 50016
  classifies such a building as a public building by its total height (5.1.1 with 5.4.10 and
  table 5.1.1, 一类 item 2 "多种功能组合的建筑"), so ``mixed`` follows the public rules: high-rise
  above 24 m, class I above 50 m or when class I by use. This is also the stricter reading:
  a 25 m mixed building is in the campaign.
"""

from __future__ import annotations

from decimal import Decimal

USES = ("residential", "public", "mixed")

# Height limits in metres; every comparison is "strictly greater than" (大于).
RESIDENTIAL_HIGH_RISE_M = Decimal("27")
PUBLIC_HIGH_RISE_M = Decimal("24")
RESIDENTIAL_CLASS_I_M = Decimal("54")
PUBLIC_CLASS_I_M = Decimal("50")
SUPER_HIGH_RISE_M = Decimal("100")

CLASS_LABELS: dict[str, tuple[str, str]] = {
    "R1": ("一类高层住宅", "Class-I high-rise residential"),
    "R2": ("二类高层住宅", "Class-II high-rise residential"),
    "P1": ("一类高层公共建筑", "Class-I high-rise public"),
    "P2": ("二类高层公共建筑", "Class-II high-rise public"),
}


def _height(height_m: Decimal | float | int) -> Decimal:
    """The height as a finite, non-negative Decimal; ValueError otherwise."""
    if isinstance(height_m, bool) or not isinstance(height_m, Decimal | float | int):
        raise ValueError(f"height must be a number, got {height_m!r}")
    # str() of a float is its shortest round-trip text: 27.01 -> "27.01", not 27.0099999…
    value = height_m if isinstance(height_m, Decimal) else Decimal(str(height_m))
    if not value.is_finite():
        raise ValueError(f"height must be finite, got {height_m!r}")
    if value < 0:
        raise ValueError(f"height must not be negative, got {height_m!r}")
    return value


def _check_use(use: str) -> None:
    if use not in USES:
        raise ValueError(f"unknown building use {use!r}; expected one of {', '.join(USES)}")


def _check_storeys(storeys: int | None) -> None:
    if storeys is None:
        return
    if isinstance(storeys, bool) or not isinstance(storeys, int) or storeys < 1:
        raise ValueError(f"storeys must be a positive integer, got {storeys!r}")


def is_high_rise(use: str, height_m: Decimal | float | int, storeys: int | None) -> bool:
    """Whether the building is a high-rise civil building.

    Residential: height > 27 m. Public and mixed: height > 24 m and more than one storey
    (a single-storey hall of any height is not high-rise). ``storeys`` None means unknown and
    is treated as multi-storey, because a building over 24 m is in practice multi-storey and
    the campaign must rather include it than miss it.

    :raise ValueError: unknown use, negative/NaN/infinite height, storeys below 1.
    """
    _check_use(use)
    _check_storeys(storeys)
    height = _height(height_m)
    if use == "residential":
        return height > RESIDENTIAL_HIGH_RISE_M
    return height > PUBLIC_HIGH_RISE_M and storeys != 1


def building_class(
    use: str,
    height_m: Decimal | float | int,
    storeys: int | None,
    *,
    class_i_by_use: bool = False,
) -> str | None:
    """The class code ``R1``/``R2``/``P1``/``P2``, or None when the building is not high-rise.

    Residential: > 54 m is R1, otherwise (27, 54] is R2; ``class_i_by_use`` does not apply to
    residential buildings (their class depends on height alone) and is ignored.
    Public and mixed: > 50 m or ``class_i_by_use`` is P1, otherwise P2. ``class_i_by_use`` is
    the caller's reading of the other 一类 criteria of GB 50016 table 5.1.1 (medical buildings,
    important public buildings, stand-alone elderly care, storeys above 24 m over 1000 m² of
    mixed functions, provincial dispatch buildings, libraries over one million volumes); it
    never makes a building high-rise by itself.

    :raise ValueError: as for :func:`is_high_rise`.
    """
    if not is_high_rise(use, height_m, storeys):
        return None
    height = _height(height_m)
    if use == "residential":
        return "R1" if height > RESIDENTIAL_CLASS_I_M else "R2"
    return "P1" if class_i_by_use or height > PUBLIC_CLASS_I_M else "P2"


def is_super_high_rise(height_m: Decimal | float | int) -> bool:
    """Whether the building is over 100 m (超高层; stricter rules, e.g. hydrant pressure).

    :raise ValueError: negative/NaN/infinite height.
    """
    return _height(height_m) > SUPER_HIGH_RISE_M
