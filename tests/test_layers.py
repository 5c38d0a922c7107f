"""Rules know nothing of the API (README, "Layout"): no services, selectors or policy module imports DRF.

Each front end maps the domain errors of ``coalition.core.errors`` itself; a rule that
raised DRF's ``ValidationError`` would tie every other front end to DRF. Modules and
packages named ``services``, ``selectors`` or ``policy`` under ``coalition/``,
``partners/`` and ``referrals/`` are read with ``ast``, imports inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("coalition", "partners", "referrals")
RULE_MODULES = {"services", "selectors", "policy"}
KNOWN_EXCEPTIONS: set[str] = set()  # none: ActionPolicy, the DRF permission class, lives in coalition/api/permissions.py


def rule_files() -> list[Path]:
    files = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if any(part in RULE_MODULES for part in parts):
                files.append(path)
    return sorted(files)


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def imports_drf(path: Path) -> bool:
    return any(name.split(".")[0].startswith("rest_framework") for name in imported_modules(path))


def test_the_walk_finds_the_rule_modules():
    found = {str(path.relative_to(ROOT)) for path in rule_files()}
    assert {"partners/services.py", "referrals/services.py", "referrals/selectors.py", "referrals/policy.py",
            "coalition/events/services.py", "coalition/oversight/selectors.py"} <= found


def test_no_services_selectors_or_policy_module_imports_rest_framework():
    offenders = [
        str(path.relative_to(ROOT))
        for path in rule_files()
        if str(path.relative_to(ROOT)) not in KNOWN_EXCEPTIONS and imports_drf(path)
    ]
    assert offenders == [], "raise coalition.core.errors instead of DRF's exceptions"


def test_the_check_sees_an_import_of_rest_framework(tmp_path):
    module = tmp_path / "services.py"
    module.write_text("def f():\n    from rest_framework.exceptions import ValidationError\n")
    assert imports_drf(module)
