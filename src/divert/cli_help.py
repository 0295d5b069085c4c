"""Worked examples for every `divert` command, shown at the foot of its --help.

Kept apart from the commands so the registry's and the web's commands get theirs too; each line
is a command a person can type as it stands (files from examples/, packs from policies/).
"""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, tuple[str, ...]] = {
    "": ("divert assess examples/cases/usa_heroin_possession.yaml -j usa --brief",
         "divert policy list", "divert compare usa usa+treatment_not_conviction --out out/usa",
         "divert assess --help"),
    "score": ("divert score dast10 examples/screening/dast10_substantial.yaml",
              "divert score assist examples/screening/assist_opioids_injecting.yaml --json"),
    "assess": ("divert assess examples/cases/usa_heroin_possession.yaml -j usa --brief",
               "divert assess examples/cases/portugal_resin_2006.yaml -j portugal --stage police",
               "divert assess examples/cases/iran_opium_user.yaml -j iran --date 2020-01-01 --json"),
    "examples": ("divert examples", "divert examples -j portugal --json"),
    "simulate": ("divert simulate portugal --persons 20000 --years 5",
                 "divert simulate usa --overlay policies/usa/scenarios/treatment_scale_up.yaml "
                 "--out out/usa-scale-up"),
    "compare": ("divert compare usa usa+treatment_not_conviction --out out/usa",
                "divert compare portugal portugal+prison_treatment --replications 8 --years 10 "
                "--out out/portugal"),
    "countries": ("divert countries", "divert countries -j usa -j portugal --budget 60 "
                                      "--out out/two-countries"),
    "backtest": ("divert backtest portugal", "divert backtest usa --replications 8 --json"),
    "validate": ("divert validate", "divert validate portugal --persons 40000"),
    "calibrate": ("divert calibrate portugal",
                  "divert calibrate usa --targets backtest --out /tmp/usa-backtest.yaml"),
    "sensitivity": ("divert sensitivity portugal --method morris --out out/sensitivity",
                    "divert sensitivity usa+treatment_scale_up --outcome overdose_deaths"),
    "brief": ("divert brief portugal", "divert brief kenya --out out/kenya-brief.html"),
    "serve": ("divert serve", "divert serve --host 0.0.0.0 --port 8080 --db registry.sqlite"),
    "policy": ("divert policy list", "divert policy book portugal --out out/portugal.html"),
    "policy list": ("divert policy list", "divert policy list --json"),
    "policy validate": ("divert policy validate policies/portugal",),
    "policy book": ("divert policy book portugal --out out/portugal.html",),
    "policy changes": ("divert policy changes portugal --from 2000-01-01 --to 2024-01-01",
                       "divert policy changes usa --from 1980-01-01 --to 1990-01-01 --json"),
    "registry": ("divert registry init --db registry.sqlite",
                 "divert registry dashboard --db registry.sqlite"),
    "registry init": ("divert registry init --db registry.sqlite",),
    "registry import": ("divert registry import examples/registry/import.json --db registry.sqlite",),
    "registry export": ("divert registry export --deidentified --out out/aggregates "
                        "--db registry.sqlite",),
    "registry verify": ("divert registry verify --db registry.sqlite",
                        "divert registry verify --expect-head 120:3f9a... --db registry.sqlite"),
    "registry head": ("divert registry head --db registry.sqlite",),
    "registry backup": ("divert registry backup --out backups/registry-2026-01-31.sqlite "
                        "--db registry.sqlite",),
    "registry rekey": ("divert registry rekey --new-key-file new.key --db registry.sqlite",),
    "registry case": ("divert registry case P-7K3M2QXD --case examples/cases/"
                      "usa_heroin_possession.yaml",),
    "registry screen": ("divert registry screen P-7K3M2QXD dast10 "
                        "examples/screening/dast10_substantial.yaml",),
    "registry advise": ("divert registry advise P-7K3M2QXD -j usa",),
    "registry confirm": ("divert registry confirm 12 --decision drug_treatment_court",
                         "divert registry confirm 12 --decision none --note \"declined\""),
    "registry consent": ("divert registry consent P-7K3M2QXD --given --measure "
                         "drug_treatment_court --on 2026-01-12",),
    "registry enrol": ("divert registry enrol P-7K3M2QXD --measure drug_treatment_court "
                       "--on 2026-01-12",),
    "registry attend": ("divert registry attend P-7K3M2QXD --status attended --on 2026-01-19",
                        "divert registry attend P-7K3M2QXD --status missed"),
    "registry promotion": ("divert registry promotion P-7K3M2QXD",),
    "registry advance": ("divert registry advance P-7K3M2QXD",
                         "divert registry advance P-7K3M2QXD --to 1 --reason \"relapse\""),
    "registry graduate": ("divert registry graduate P-7K3M2QXD --on 2026-12-01",),
    "registry terminate": ("divert registry terminate P-7K3M2QXD --reason \"new violent "
                           "offence\"",),
    "registry withdraw": ("divert registry withdraw P-7K3M2QXD --reason \"moved away\"",),
    "registry rearrest": ("divert registry rearrest P-7K3M2QXD --on 2026-03-02",),
    "registry suggest": ("divert registry suggest P-7K3M2QXD --behaviour missed_test",
                         "divert registry suggest P-7K3M2QXD --test 41"),
    "registry respond": ("divert registry respond P-7K3M2QXD --kind incentive --behaviour "
                         "negative_test",
                         "divert registry respond P-7K3M2QXD --kind sanction --behaviour "
                         "missed_test --test 41"),
    "registry complete": ("divert registry complete 7 --on 2026-02-01",
                          "divert registry complete 7 --cancel"),
    "registry timeline": ("divert registry timeline P-7K3M2QXD",),
    "registry dashboard": ("divert registry dashboard", "divert registry dashboard --on "
                                                        "2026-02-02 --json"),
    "registry programme": ("divert registry programme show riverside-dtc",),
    "registry programme add": ("divert registry programme add --code riverside-dtc --name "
                               "\"Riverside drug court\" --jurisdiction usa",),
    "registry programme show": ("divert registry programme show riverside-dtc",),
    "registry participant": ("divert registry participant add --name \"A. Person\" "
                             "--birth-date 1990-04-02",),
    "registry participant add": ("divert registry participant add --name \"A. Person\" "
                                 "--birth-date 1990-04-02 --sex female",),
    "registry participant show": ("divert registry participant show P-7K3M2QXD",
                                  "divert registry participant show P-7K3M2QXD --identify"),
    "registry participant update": ("divert registry participant update P-7K3M2QXD --contact "
                                    "\"+1 555 0100\" --if-version 3",),
    "registry tests": ("divert registry tests schedule --from 2026-02-02 --to 2026-02-08",),
    "registry tests schedule": ("divert registry tests schedule --from 2026-02-02 --to "
                                "2026-02-08",),
    "registry tests add": ("divert registry tests add P-7K3M2QXD --on 2026-02-03",),
    "registry tests record": ("divert registry tests record 41 --result negative",
                              "divert registry tests record 42 --result positive --substances "
                              "opioids,cocaine"),
    "registry tests close-missed": ("divert registry tests close-missed",),
    "registry calendar": ("divert registry calendar show",
                          "divert registry calendar close --on 2026-12-25 --reason \"Christmas Day\" "
                          "--yearly"),
    "registry calendar show": ("divert registry calendar show --json",),
    "registry calendar sitting": ("divert registry calendar sitting --days mon,tue,thu",),
    "registry calendar close": ("divert registry calendar close --on 2026-12-25 --reason "
                                "\"Christmas Day\" --yearly",),
    "registry calendar reopen": ("divert registry calendar reopen 3",),
    "registry hearings": ("divert registry hearings schedule --until 2026-03-31",),
    "registry hearings schedule": ("divert registry hearings schedule --until 2026-03-31",),
    "registry hearings record": ("divert registry hearings record 9 --status held --held-on "
                                 "2026-02-10",),
    "admin": ("divert admin list-users",),
    "admin create-user": ("divert admin create-user judge1 --role judge --name \"Judge A\" "
                          "--programme riverside-dtc",),
    "admin list-users": ("divert admin list-users --json",),
    "admin deactivate": ("divert admin deactivate judge1",),
    "admin reset-password": ("divert admin reset-password judge1",),
    "admin set-programmes": ("divert admin set-programmes judge1 --programme riverside-dtc",),
}


def epilog(path: str) -> str | None:
    """The --help foot for the command at `path` ("assess", "registry tests record")."""
    lines = EXAMPLES.get(path)
    if not lines:
        return None
    # \b keeps click from joining the lines into one paragraph
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


def _unset(value: Any) -> bool:
    from typer.models import DefaultPlaceholder

    return value is None or isinstance(value, DefaultPlaceholder)


def add_examples(app: Any, prefix: str = "") -> None:
    """Give every command of a Typer app (and of its groups) its examples, unless it has some."""
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__.replace("_", "-") if info.callback else "")
        if _unset(info.epilog):
            info.epilog = epilog(f"{prefix} {name}".strip())
    for group in app.registered_groups:
        path = f"{prefix} {group.name}".strip()
        if _unset(group.epilog):
            group.epilog = epilog(path)
        if group.typer_instance is not None:
            add_examples(group.typer_instance, path)
