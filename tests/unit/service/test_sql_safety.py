"""SQL only with bound parameters: no value is ever spliced into SQL text.

Every .py file under service/ is parsed, and two rules are checked on the syntax tree:

1. A string built with an f-string, `%` formatting, `.format()` or `+` whose literal text
   reads as SQL (`SELECT … FROM`, `INSERT INTO`, `UPDATE … SET`, `DELETE FROM`, `WHERE`,
   `VALUES (`, `ON CONFLICT`, `RETURNING`) may only splice in CONSTANTS: an UPPER_CASE
   module-level name of that module (or imported from another service module), or an
   UPPER_CASE class attribute such as `LIVE_ORDER_COLUMNS`, whose value is itself a string
   (column lists). That is what the existing `# noqa: S608` lines do.
2. The query argument of `execute`, `executemany`, `copy`, `stream` and the stores'
   `_rows`/`_row` helpers must not be built there from anything but such constants, whatever
   its text (so lower-case or unusual SQL is caught too).

psycopg's `sql.SQL(...).format(sql.Identifier(...))` is composition, not string building,
and is allowed. Values always go in the parameters (`%s`, `%(name)s`).
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SERVICE = ROOT / "service"

SQL_SHAPE = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\b[\s\S]*\bSET\b|\bDELETE\s+FROM\b"
    r"|\bWHERE\b|\bVALUES\s*\(|\bON\s+CONFLICT\b|\bRETURNING\b"
)
QUERY_METHODS = frozenset({"execute", "executemany", "copy", "stream", "_rows", "_row"})
CONSTANT_NAME = re.compile(r"_?[A-Z][A-Z0-9_]*")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


class Checker:
    """Finds string-built SQL in one module's source."""

    def __init__(self, source: str, path: str = "<src>", module: str | None = None) -> None:
        self.tree = ast.parse(source)
        self.path = path
        self.module = module
        self.constants = self._module_constants()
        self.findings: list[Finding] = []

    def _module_constants(self) -> dict[str, str | None]:
        """UPPER_CASE names bound at module level: name -> the module to import it from."""
        out: dict[str, str | None] = {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name) and CONSTANT_NAME.fullmatch(t.id):
                        out[t.id] = self.module
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("service"):
                for alias in node.names:
                    name = alias.asname or alias.name
                    if CONSTANT_NAME.fullmatch(name):
                        out[name] = node.module
            elif isinstance(node, ast.ImportFrom | ast.Import):
                continue
        return out

    # -- what may be spliced in --

    def _resolve(self, module: str | None, dotted: list[str]) -> object:
        if module is None:
            return None
        try:
            value: object = importlib.import_module(module)
        except ImportError:
            return None
        for part in dotted:
            value = getattr(value, part, None)
        return value

    def is_constant(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str | int)
        if isinstance(node, ast.Name):
            if node.id not in self.constants:
                return False
            value = self._resolve(self.constants[node.id], [node.id])
            return value is None or isinstance(value, str)  # unresolvable source: by name
        if isinstance(node, ast.Attribute) and CONSTANT_NAME.fullmatch(node.attr):
            # Class.CONSTANT where Class is a module-level class or an imported name
            if isinstance(node.value, ast.Name) and node.value.id[:1].isupper():
                owner = node.value.id
                defined_here = any(
                    isinstance(n, ast.ClassDef) and n.name == owner for n in self.tree.body
                )
                imported_from = self._imported_from(owner)
                if not defined_here and imported_from is None:
                    return False
                module = self.module if defined_here else imported_from
                value = self._resolve(module, [owner, node.attr])
                return value is None or isinstance(value, str)
        return False

    def _imported_from(self, name: str) -> str | None:
        for node in self.tree.body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("service"):
                if any((a.asname or a.name) == name for a in node.names):
                    return node.module
        return None

    # -- string building --

    def built_parts(self, node: ast.expr) -> tuple[str, list[ast.expr]] | None:
        """(literal text, spliced expressions) when `node` builds a string; else None."""
        if isinstance(node, ast.JoinedStr):
            text, spliced = "", []
            for part in node.values:
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    text += part.value
                elif isinstance(part, ast.FormattedValue):
                    spliced.append(part.value)
            return text, spliced
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            left = node.left
            if isinstance(left, ast.Constant) and isinstance(left.value, str):
                right = node.right
                items = right.elts if isinstance(right, ast.Tuple) else [right]
                if isinstance(right, ast.Dict):
                    items = [v for v in right.values if v is not None]
                return left.value, list(items)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            texts, spliced = [], []
            for side in (node.left, node.right):
                inner = self.built_parts(side)
                if inner is not None:
                    texts.append(inner[0])
                    spliced.extend(inner[1])
                elif isinstance(side, ast.Constant) and isinstance(side.value, str):
                    texts.append(side.value)
                else:
                    spliced.append(side)
            if any(isinstance(s, ast.Constant) for s in (node.left, node.right)) or texts:
                return "".join(texts), spliced
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
        ):
            target = node.func.value
            if isinstance(target, ast.Constant) and isinstance(target.value, str):
                return target.value, [*node.args, *(k.value for k in node.keywords)]
            if isinstance(target, ast.Name) and target.id in self.constants:
                value = self._resolve(self.constants[target.id], [target.id])
                text = value if isinstance(value, str) else "SELECT FROM"  # assume the worst
                return text, [*node.args, *(k.value for k in node.keywords)]
        return None

    def check(self) -> list[Finding]:
        for node in ast.walk(self.tree):
            built = self.built_parts(node) if isinstance(node, ast.expr) else None
            if built is not None:
                text, spliced = built
                if SQL_SHAPE.search(text):
                    for expr in spliced:
                        if not self.is_constant(expr):
                            self._flag(node, f"SQL built from {ast.unparse(expr)!r}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in QUERY_METHODS
                and node.args
            ):
                query = node.args[0]
                built = self.built_parts(query)
                if built is not None:
                    for expr in built[1]:
                        if not self.is_constant(expr):
                            self._flag(
                                node, f"{node.func.attr}() query built from {ast.unparse(expr)!r}"
                            )
        return self.findings

    def _flag(self, node: ast.AST, what: str) -> None:
        finding = Finding(self.path, getattr(node, "lineno", 0), what)
        if finding not in self.findings:
            self.findings.append(finding)


def service_modules() -> Iterator[tuple[Path, str]]:
    for path in sorted(SERVICE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts)
        if module.endswith(".__init__"):
            module = module[: -len(".__init__")]
        yield path, module


def test_sql_safety_no_string_built_sql_in_service() -> None:
    findings: list[Finding] = []
    checked = 0
    for path, module in service_modules():
        source = path.read_text()
        findings += Checker(source, str(path.relative_to(ROOT)), module).check()
        checked += 1
    assert checked > 10
    assert not findings, "string-built SQL:\n" + "\n".join(map(str, findings))


def test_sql_safety_the_constants_spliced_today_are_column_lists() -> None:
    """The allowed splices are really there and really constant strings (not a rule that
    passes because it never looks)."""
    from service.store import orders

    assert "INSERT INTO orders" in orders.INSERT_ORDERS
    assert re.fullmatch(r"[a-z_, ]+", orders.ORDER_COLUMNS)
    assert re.fullmatch(r"[a-z_, ]+", orders.FILL_COLUMNS)
    spliced = 0
    for path, module in service_modules():
        checker = Checker(path.read_text(), str(path), module)
        for node in ast.walk(checker.tree):
            built = checker.built_parts(node) if isinstance(node, ast.expr) else None
            if built and SQL_SHAPE.search(built[0]):
                spliced += len(built[1])
    assert spliced >= 5  # ORDER_COLUMNS, FILL_COLUMNS, LIVE_ORDER_COLUMNS … in the stores


COLUMNS = "id, status"  # used by the snippets below: a constant of the checked "module"


@pytest.mark.parametrize(
    "snippet",
    [
        'cur.execute(f"SELECT * FROM orders WHERE id = {order_id}")',
        'cur.execute("SELECT * FROM orders WHERE id = %s" % order_id)',
        'cur.execute("SELECT * FROM orders WHERE id = %s" % (order_id,))',
        'cur.execute("SELECT * FROM orders WHERE id = {}".format(order_id))',
        'cur.execute("SELECT * FROM orders WHERE id = \'" + order_id + "\'")',
        "q = f\"SELECT {COLUMNS} FROM orders WHERE client_id = '{client}'\"",
        'q = "DELETE FROM orders WHERE id = %(id)s" % {"id": oid}',
        'conn.execute(f"delete from orders where id = {oid}")',
        'self._rows(f"select * from t where a = {a}")',
        'await cur.executemany("insert into t values (" + vals + ")", rows)',
        'cur.execute(f"SELECT {cols} FROM orders")',
        'cur.execute(f"SELECT {self.COLUMNS} FROM orders")',
        'TEMPLATE = "SELECT * FROM t WHERE a = {}"\ncur.execute(TEMPLATE.format(a))',
    ],
)
def test_sql_safety_checker_flags_string_built_sql(snippet: str) -> None:
    source = f"COLUMNS = {COLUMNS!r}\n{snippet}\n"
    assert Checker(source, module=None).check(), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        'cur.execute("SELECT * FROM orders WHERE id = %s", (order_id,))',
        'cur.execute(f"SELECT {COLUMNS} FROM orders WHERE id = %s", (oid,))',
        'cur.execute(f"SELECT {COLUMNS} FROM orders" " WHERE id = %(id)s", {"id": oid})',
        'cur.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))',
        'log.info(f"the order {oid} is filled")',
        'raise ValueError(f"{field} must be set where it is used")',
        "pipe.execute()",
        "conn.execute(text.encode())",
        'msg = "value: %s" % value',
    ],
)
def test_sql_safety_checker_allows_bound_parameters_and_constants(snippet: str) -> None:
    source = f"COLUMNS = {COLUMNS!r}\n{snippet}\n"
    assert not Checker(source, module=None).check(), snippet
