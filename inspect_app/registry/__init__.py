"""The building registry (基础台账) import: areas, buildings and users from an XLSX or CSV file.

An import runs in three steps, and only the last one writes:

1. **Read** (:func:`read_file`): stream the workbook (openpyxl, read-only) or the CSV, find the
   area, building and user tables by their headers, and check every cell of every row (type,
   length, allowed values) and every key for duplicates within the file.
2. **Plan** (:func:`plan_import`): check the rows against the database and the importer's
   scope (unknown areas, codes already used outside the scope, roles the importer may not
   give) and sort each row into *create*, *update* or *unchanged*.
3. **Apply** (:func:`apply_plan`): only for a file without a single problem; bulk statements
   (no query per row) in the caller's transaction, which flushes and never commits, so a file
   is applied whole or not at all.

Every problem is reported as (sheet, row, column, message) with the row number a spreadsheet
shows. Rows are matched on the area code, the building code and the username; a row equal to
the stored record is not written, so importing the same file twice changes nothing. For every
column present in the file the file's value replaces the stored one (an empty optional cell
clears it, an empty yes/no cell means 否); columns absent from the file leave stored values
alone; records missing from the file are never deleted. For existing users the password
column is ignored: an import never changes a password.

Memory stays bounded: the workbook is streamed, each row is kept as one compact tuple, and a
file over ``max_rows`` data rows is refused as soon as the limit is passed.

The package also retires, restores and (only when nothing refers to it) deletes buildings, and
lists the blind spots of fire-safety management.

Its parts, by what they hold:

- :mod:`.tables`: the import tables and their columns (headers, kinds, allowed values), limits;
- :mod:`.report`: the report of an import (problems, counts) and the progress protocol;
- :mod:`.cells`: one cell turned into a stored value, and header matching;
- :mod:`.rows`: the rows of one table checked as they stream past (duplicates, cross-cell rules);
- :mod:`.files`: reading an XLSX or CSV file (:func:`read_file`);
- :mod:`.plan`: the rows checked against the database and the importer's scope
  (:func:`plan_import`);
- :mod:`.importer`: writing a plan (:func:`apply_plan`) and the whole import
  (:func:`import_registry`);
- :mod:`.template`: the import template (:func:`write_template`);
- :mod:`.buildings`: retiring, restoring and deleting buildings;
- :mod:`.blind_spots`: blind spots (盲区清零) as SQL conditions and counts.

The names imported below are the package's public interface; callers import them from
``inspect_app.registry``. Every limit is read from the submodule that defines it, so a test
that changes one patches it there (``registry.files.MAX_UNCOMPRESSED_BYTES``); the caps that
only tests change are deliberately not re-exported here, so that patching them on the package
fails instead of silently changing nothing.
"""

from .blind_spots import BLIND_SPOTS, blind_spot, blind_spot_counts
from .buildings import InUse, delete_building, restore_building, retire_building
from .files import read_file
from .importer import apply_plan, import_registry
from .plan import Plan, plan_import
from .report import Counts, Problem, Progress, Report, Unreadable
from .rows import ParsedFile, ParsedTable
from .tables import (
    AREAS,
    BATCH,
    BUILDINGS,
    LEVEL_CHOICES,
    MAX_ROWS,
    NO,
    ROLE_CHOICES,
    TABLES,
    TEMPLATE_NOTE_SHEET,
    USE_CHOICES,
    USERS,
    YES,
    Column,
    Table,
)
from .template import write_template

__all__ = [
    "AREAS",
    "BATCH",
    "BLIND_SPOTS",
    "BUILDINGS",
    "LEVEL_CHOICES",
    "MAX_ROWS",
    "NO",
    "ROLE_CHOICES",
    "TABLES",
    "TEMPLATE_NOTE_SHEET",
    "USERS",
    "USE_CHOICES",
    "YES",
    "Column",
    "Counts",
    "InUse",
    "ParsedFile",
    "ParsedTable",
    "Plan",
    "Problem",
    "Progress",
    "Report",
    "Table",
    "Unreadable",
    "apply_plan",
    "blind_spot",
    "blind_spot_counts",
    "delete_building",
    "import_registry",
    "plan_import",
    "read_file",
    "restore_building",
    "retire_building",
    "write_template",
]
