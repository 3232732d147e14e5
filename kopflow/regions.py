"""Villages to register as cooperatives: from the ``areaid`` package or a district's CSV file.

Only reading and shaping region data lives here; the engine writes the rows. areaid's ids are
its own (not Kemendagri codes), so a cooperative's id is derived from areaid's village id.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kopflow.errors import InputError, NotFoundError
from kopflow.i18n import N_, Word

# Kemendagri region code of a desa/kelurahan: PP.KK.CC.DDDD, the last block starting 1, 2 or 3
# (kelurahan, desa, desa adat); docs/domain.md, "Identifiers and formats".
REGION_CODE = re.compile(r"^\d{2}\.\d{2}\.\d{2}\.[123]\d{3}$")
# A cooperative id a CSV may give: it must fit the 32-character key, and ids are found
# case-insensitively (queries.resolve_coop upper-cases), so they are stored upper-case.
COOP_ID = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,31}$")
CSV_COLUMNS = ("region_code", "village", "kecamatan", "kabupaten", "provinsi")
CSV_OPTIONAL = ("postal_code", "coop_id")


@dataclass
class CoopSeed:
    """A cooperative to register and the villages it covers (usually one)."""

    coop_id: str
    kabupaten: str
    provinsi: str
    villages: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    # each village: (region_id, name, kecamatan, postal_code)

    @property
    def name(self) -> str:
        return f"KDKMP {self.villages[0][1]}"


def _provinces() -> list[str]:
    import areaid

    return list(areaid.buka_nama()["himpunan"])


def _province_data(name: str) -> list[dict[str, Any]]:
    import areaid

    data: list[dict[str, Any]] = areaid.buka_data(name.lower())  # areaid's JSON, untyped
    return data


def _unknown(kind: str, name: str, known: list[str]) -> NotFoundError:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if not close:  # a code ("51.08") or a typo far off: how the names are written
        return NotFoundError(
            "unknown {kind} {name!r}; give its name as the region data writes it, such as "
            "{examples}",
            kind=Word(kind),
            name=name,
            examples=", ".join(known[:2]),
        )
    return NotFoundError(
        "unknown {kind} {name!r}; did you mean: {close}",
        kind=Word(kind),
        name=name,
        close=", ".join(close),
    )


def coop_id_for(areaid_village_id: int | str) -> str:
    """The stable id of the cooperative of an areaid village."""
    return f"KDMP-{int(areaid_village_id):06d}"


def seeds_from_areaid(
    *, kabupaten: str | None = None, provinsi: str | None = None
) -> Iterator[CoopSeed]:
    """One seed per desa/kelurahan of a kabupaten, of a province, or (neither) of the country."""
    provinces = _provinces()
    if provinsi is not None:
        match = {p.lower(): p for p in provinces}.get(provinsi.lower())
        if match is None:
            raise _unknown(N_("province"), provinsi, provinces)
        provinces = [match]
    found = False
    all_kabupaten: list[str] = []
    for province_name in provinces:
        for province in _province_data(province_name):
            for kab in province["kabupaten"]:
                all_kabupaten.append(kab["kab_kota"])
                if kabupaten is not None and kab["kab_kota"].lower() != kabupaten.lower():
                    continue
                found = True
                for kec in kab["kecamatan"]:
                    for village in kec["kelurahan"]:
                        pos = village.get("pos")
                        yield CoopSeed(
                            coop_id=coop_id_for(village["id"]),
                            kabupaten=kab["kab_kota"],
                            provinsi=province["provinsi"],
                            villages=[
                                (
                                    str(village["id"]),
                                    village["kelu"],
                                    kec["kec"],
                                    str(pos) if pos else None,
                                )
                            ],
                        )
    if kabupaten is not None and not found:
        raise _unknown(N_("kabupaten/kota"), kabupaten, all_kabupaten)


def seeds_from_csv(path: Path) -> list[CoopSeed]:
    """Seeds from a district's own list; rows sharing ``coop_id`` form one cooperative.

    Columns: region_code (PP.KK.CC.DDDD), village, kecamatan, kabupaten, provinsi, and
    optionally postal_code and coop_id (default: ``KDMP-`` and the region code's digits).
    """
    from kopflow.csvfile import CsvRows
    from kopflow.text import control_char

    seeds: dict[str, CoopSeed] = {}
    lines: dict[str, int] = {}  # region code -> the line that first named it
    reader = CsvRows(path)  # encoding and csv errors name the file and the row (issue #14)
    missing = [c for c in CSV_COLUMNS if c not in reader.fieldnames]
    if missing:
        raise InputError(
            "{path}: missing column(s) {missing}; expected {expected}",
            path=str(path),
            missing=", ".join(missing),
            expected=", ".join(CSV_COLUMNS + CSV_OPTIONAL),
        )
    for line, row in reader:
        for column, value in row.items():
            # names are printed on terminals and in reports: no control characters
            if isinstance(value, str) and (char := control_char(value)) is not None:
                raise InputError(
                    "{path}:{line}: column {column} holds the control character {char}; "
                    "type the text again without it",
                    path=str(path),
                    line=line,
                    column=column,
                    char=char,
                )
        code = (row["region_code"] or "").strip()
        if not REGION_CODE.match(code):
            raise InputError(
                "{path}:{line}: region_code {code!r} is not a village code like 51.08.01.2001",
                path=str(path),
                line=line,
                code=code,
            )
        for column in CSV_COLUMNS[1:]:
            if not (row[column] or "").strip():
                raise InputError(
                    "{path}:{line}: column {column} is empty",
                    path=str(path),
                    line=line,
                    column=column,
                )
        if code in lines:
            raise InputError(
                "{path}:{line}: region_code {code} is already on line {first}",
                path=str(path),
                line=line,
                code=code,
                first=lines[code],
            )
        lines[code] = line
        coop_id = (row.get("coop_id") or "").strip().upper() or "KDMP-" + code.replace(".", "")
        if not COOP_ID.match(coop_id):
            raise InputError(
                "{path}:{line}: coop_id {coop_id!r} must be 1 to 32 letters, digits, '.', '_' "
                "or '-'",
                path=str(path),
                line=line,
                coop_id=coop_id,
            )
        seed = seeds.setdefault(
            coop_id,
            CoopSeed(coop_id, (row["kabupaten"] or "").strip(), (row["provinsi"] or "").strip()),
        )
        postal = (row.get("postal_code") or "").strip() or None
        village, kecamatan = (row["village"] or "").strip(), (row["kecamatan"] or "").strip()
        seed.villages.append((code, village, kecamatan, postal))
    return list(seeds.values())
