#!/usr/bin/python3
"""avro_tool.py - read Avro container files with an independent implementation.

The tests use this to check what swrepart writes with Debian's python3-avro
(plus python3-snappy for the snappy codec), not with swrepart's own code.
Run it with Debian's /usr/bin/python3: a pyenv python lacks those modules.

  dump [--writer] FILE...        every record as one JSON line (sorted keys,
                                 compact), resolved to the RawDatum reader
                                 schema (AggDatum for aggregate files)
                                 unless --writer
  count FILE...                  total number of records
  meta FILE                      codec, schema name, namespace, field order,
                                 sync marker, blocks, records
  same-records A... -- B...      exit 0 iff the records of the A files and of
                                 the B files are the same multiset
  check-gen [--require-all] DIR  check a tree written by swrepart's synthetic
                                 cold-tier generator (gen.c); its agg_
                                 files must hold the aggregates of their
                                 raw files' records, computed here

Exit status: 0 success; 1 a check failed, a file is corrupt or the files
differ; 2 usage or a file that cannot be opened; 77 python3-avro is missing
(automake's "skip").
"""

import collections
import datetime
import hashlib
import io
import json
import os
import re
import sys

try:
    import avro.datafile
    import avro.io
    import avro.schema
except ImportError:  # pragma: no cover - depends on the machine
    sys.stderr.write("avro_tool: python3-avro is not installed\n")
    sys.exit(77)

MAGIC = b"Obj\x01"
SYNC_SIZE = 16
WINDOW = 6 * 3600
DAY = 86400

# The reader schema: COLD_TIER.md's RawDatum, written out independently of
# the C code on purpose.
RAWDATUM = {
    "type": "record",
    "name": "RawDatum",
    "namespace": "amazon.aws.iot.sitewise.raw",
    "fields": [
        {"name": "seriesId", "type": "string"},
        {"name": "timeInSeconds", "type": "long"},
        {"name": "offsetInNanos", "type": "long"},
        {"name": "quality", "type": "string"},
        {"name": "doubleValue", "type": ["null", "double"], "default": None},
        {"name": "stringValue", "type": ["null", "string"], "default": None},
        {"name": "integerValue", "type": ["null", "int"], "default": None},
        {"name": "booleanValue", "type": ["null", "boolean"], "default": None},
        {"name": "jsonValue", "type": ["null", "string"], "default": None},
        {"name": "recordVersion", "type": ["null", "long"], "default": None},
    ],
}
# The aggregates' reader schema (COLD_TIER.md's fields; the record name is
# swrepart's choice, see README.md), written out independently too.
AGGDATUM = {
    "type": "record",
    "name": "AggDatum",
    "namespace": "amazon.aws.iot.sitewise.agg",
    "fields": [
        {"name": "seriesId", "type": "string"},
        {"name": "timeInSeconds", "type": "long"},
        {"name": "offsetInNanos", "type": "long"},
        {"name": "quality", "type": "string"},
        {"name": "resolution", "type": "string"},
        {"name": "count", "type": ["null", "double"], "default": None},
        {"name": "average", "type": ["null", "double"], "default": None},
        {"name": "min", "type": ["null", "double"], "default": None},
        {"name": "max", "type": ["null", "double"], "default": None},
        {"name": "sum", "type": ["null", "double"], "default": None},
        {"name": "recordVersion", "type": ["null", "long"], "default": None},
    ],
}
VALUE_FIELDS = ["doubleValue", "stringValue", "integerValue", "booleanValue", "jsonValue"]
# assetPropertyDataType -> the value field it fills (STRUCT values, such as
# alarm states, travel as JSON strings).
TYPE_FIELD = {
    "DOUBLE": "doubleValue",
    "STRING": "stringValue",
    "INTEGER": "integerValue",
    "BOOLEAN": "booleanValue",
    "STRUCT": "jsonValue",
}
QUALITIES = ("GOOD", "BAD", "UNCERTAIN")
METADATA_FIELDS = (
    "assetId", "assetName", "assetModelId", "assetModelName", "assetPropertyId",
    "assetPropertyName", "assetPropertyDataType", "assetPropertyUnit",
    "assetPropertyAlias", "timeSeriesId", "timeSeriesBucket", "assetArn",
    "assetCompositeModelDescription", "assetCompositeModelName",
    "assetCompositeModelType", "assetCreationDate", "assetLastUpdateDate",
    "assetStatusErrorCode", "assetStatusErrorMessage", "assetStatusState",
)
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
UUID_RE = re.compile("^" + UUID + "$")
LEGACY_RE = re.compile("^(" + UUID + ")_(" + UUID + ")$")
DATA_KEY_RE = re.compile(
    r"^(?P<prefix>(?:.*/)?)startYear=(?P<y>[^/]*)/startMonth=(?P<m>[^/]*)/"
    r"startDay=(?P<d>[^/]*)/seriesBucket=(?P<hh>[^/]*)/(?P<name>[^/]*)$")
META_KEY_RE = re.compile(r"^(?P<parent>(?:.*/)?)asset_metadata/asset_(?P<asset>[^/]+)\.ndjson$")
UNPADDED = re.compile(r"^[1-9][0-9]*$")


class Failure(Exception):
    """A check that failed: the message says what and where."""


def usage(text):
    sys.stderr.write(f"usage: avro_tool.py {text}\n")
    sys.exit(2)


# ---- container reading ------------------------------------------------------

def _read_long(f):
    """Zigzag varint, strictly: at most 10 bytes."""
    shift = 0
    acc = 0
    for _ in range(10):
        c = f.read(1)
        if not c:
            raise Failure("truncated long")
        b = c[0]
        acc |= (b & 0x7F) << shift
        if not b & 0x80:
            return (acc >> 1) ^ -(acc & 1)
        shift += 7
    raise Failure("long longer than 10 bytes")


def _read_bytes(f):
    n = _read_long(f)
    if n < 0:
        raise Failure("negative length")
    data = f.read(n)
    if len(data) != n:
        raise Failure("truncated bytes")
    return data


def container(path):
    """Walk a container's framing strictly (independently of python-avro,
    which silently tolerates a wrong sync marker): returns a dict with
    codec, schema (parsed JSON), sync, blocks, records."""
    with open(path, "rb") as f:
        data = f.read()
    f = io.BytesIO(data)
    if f.read(4) != MAGIC:
        raise Failure(f"{path}: not an avro container (bad magic)")
    try:
        meta = {}
        while True:
            n = _read_long(f)
            if n == 0:
                break
            if n < 0:
                _read_long(f)  # block byte size
                n = -n
            for _ in range(n):
                k = _read_bytes(f).decode()
                meta[k] = _read_bytes(f)
        sync = f.read(SYNC_SIZE)
        if len(sync) != SYNC_SIZE:
            raise Failure("truncated header")
        blocks = records = 0
        while f.tell() < len(data):
            count = _read_long(f)
            size = _read_long(f)
            if count < 0 or size < 0:
                raise Failure(f"block {blocks}: negative count or size")
            if len(f.read(size)) != size:
                raise Failure(f"block {blocks}: truncated data")
            if f.read(SYNC_SIZE) != sync:
                raise Failure(f"block {blocks}: sync marker differs from the header's")
            blocks += 1
            records += count
    except Failure as e:
        raise Failure(f"{path}: {e}") from None
    if "avro.schema" not in meta:
        raise Failure(f"{path}: no avro.schema in the header")
    return {
        "codec": meta.get("avro.codec", b"null").decode(),
        "schema": json.loads(meta["avro.schema"]),
        "sync": sync,
        "blocks": blocks,
        "records": records,
    }


def reader_schema_for(writer):
    """RawDatum (or AggDatum) as the reader schema.  The Avro spec matches
    records by unqualified name, python-avro by full name: take the
    writer's namespace so a file written under another namespace still
    resolves."""
    if not isinstance(writer, dict) or writer.get("type") != "record":
        raise Failure("writer schema is not a record")
    name = writer.get("name", "")
    ns = writer.get("namespace")
    if "." in name:
        ns, name = name.rsplit(".", 1)
    if name not in ("RawDatum", "AggDatum"):
        raise Failure(f"writer schema is record '{name}', not RawDatum nor AggDatum")
    rs = dict(RAWDATUM if name == "RawDatum" else AGGDATUM)
    if ns:
        rs["namespace"] = ns
    else:
        rs.pop("namespace")
    return avro.schema.parse(json.dumps(rs))


def records(path, resolve=True):
    """Yield the records of a file (dicts), after checking its framing."""
    info = container(path)
    n = 0
    try:
        with open(path, "rb") as f:
            dr = avro.io.DatumReader()
            if resolve:
                dr.readers_schema = reader_schema_for(info["schema"])
            # python-avro keeps a promoted int or long a Python int: as
            # the spec says, the reader's double makes it a double
            doubles = set()
            if resolve:
                for fd in json.loads(str(dr.readers_schema))["fields"]:
                    t = fd["type"]
                    if t == "double" or (isinstance(t, list) and "double" in t):
                        doubles.add(fd["name"])
            with avro.datafile.DataFileReader(f, dr) as r:
                for rec in r:
                    n += 1
                    for k in doubles:
                        v = rec.get(k)
                        if isinstance(v, int) and not isinstance(v, bool):
                            rec[k] = float(v)
                    yield rec
    except Failure as e:
        raise Failure(f"{path}: {e}") from None
    except Exception as e:  # anything python-avro raises on bad input
        raise Failure(f"{path}: cannot read: {type(e).__name__}: {e}") from None
    if n != info["records"]:
        raise Failure(f"{path}: block counts say {info['records']} records, read {n}")


def canonical(rec):
    return json.dumps(rec, sort_keys=True, separators=(",", ":"))


# ---- subcommands -------------------------------------------------------------

def cmd_dump(args):
    resolve = True
    if args and args[0] == "--writer":
        resolve = False
        args = args[1:]
    if not args:
        usage("dump [--writer] FILE...")
    out = sys.stdout
    for path in args:
        for rec in records(path, resolve):
            out.write(canonical(rec) + "\n")
    return 0


def cmd_count(args):
    if not args:
        usage("count FILE...")
    total = 0
    for path in args:
        total += sum(1 for _ in records(path, resolve=False))
    print(total)
    return 0


def cmd_meta(args):
    if len(args) != 1:
        usage("meta FILE")
    info = container(args[0])
    s = info["schema"]
    name = s.get("name", "") if isinstance(s, dict) else ""
    ns = s.get("namespace", "") if isinstance(s, dict) else ""
    fields = [f["name"] for f in s.get("fields", [])] if isinstance(s, dict) else []
    print(f"codec {info['codec']}")
    print(f"name {name}")
    print(f"namespace {ns}")
    print(f"fields {','.join(fields)}")
    print(f"sync {info['sync'].hex()}")
    print(f"blocks {info['blocks']}")
    print(f"records {info['records']}")
    return 0


def record_sets(args, synopsis):
    """The records of the files before "--" and of those after it, each as
    a multiset of canonical records."""
    if "--" not in args:
        usage(synopsis)
    i = args.index("--")
    return tuple(collections.Counter(canonical(r) for p in files for r in records(p))
                 for files in (args[:i], args[i + 1:]))


def cmd_same_records(args):
    a, b = record_sets(args, "same-records A... -- B...")
    if a == b:
        print(f"same records: {sum(a.values())}")
        return 0
    only_a = a - b
    only_b = b - a
    sys.stderr.write(f"records differ: {sum(a.values())} in A, {sum(b.values())} in B, "
                     f"{sum(only_a.values())} only in A, {sum(only_b.values())} only in B\n")
    for label, diff in (("A", only_a), ("B", only_b)):
        for rec, n in list(diff.items())[:5]:
            sys.stderr.write(f"  {n} more in {label} ({a[rec]} in A, {b[rec]} in B): {rec}\n")
    return 1


def cmd_contains(args):
    """Every record of A (as a multiset) is in B: nothing of A lost; B may
    hold more (records twice, other records)."""
    a, b = record_sets(args, "contains A... -- B...")
    missing = a - b
    if not missing:
        print(f"contained: {sum(a.values())} records of A in the {sum(b.values())} of B")
        return 0
    sys.stderr.write(f"{sum(missing.values())} of the {sum(a.values())} records of A are not in B\n")
    for rec, n in list(missing.items())[:5]:
        sys.stderr.write(f"  {n} missing: {rec}\n")
    return 1


# ---- check-gen ---------------------------------------------------------------

def parse_name(name):
    """raw_{seriesId}_{startTimestamp}_{quality}.avro, parsed from the right
    as COLD_TIER.md says (a series id may itself contain '_')."""
    if not name.endswith(".avro"):
        return None
    stem = name[:-len(".avro")]
    for kind in ("raw_", "agg_"):
        if stem.startswith(kind):
            break
    else:
        return None
    parts = stem[len(kind):].rsplit("_", 2)
    if len(parts) != 3:
        return None
    sid, ts, quality = parts
    return kind[:-1], sid, ts, quality


class GenCheck:
    def __init__(self, root):
        self.root = root
        self.errors = []
        self.files = 0
        self.records = 0
        self.days = set()
        self.series_bucket = {}     # series id -> bucket from its keys
        self.series_fields = collections.defaultdict(set)
        self.series_versions = collections.defaultdict(set)  # None / "long"
        self.codecs = collections.Counter()
        self.qualities = collections.Counter()
        self.variants = collections.Counter()   # (namespace, field order)
        self.multi_block = 0
        self.data_prefixes = set()
        self.meta_files = 0
        self.meta = {}               # timeSeriesId -> metadata line
        self.meta_parents = set()
        self.raw_files = {}          # (parent, y, m, d, hh, sid, ts, q) -> path
        self.agg_files = []          # (rel, path, key as above)

    def error(self, msg):
        self.errors.append(msg)

    def walk(self):
        for dirpath, _, files in os.walk(self.root):
            for fn in sorted(files):
                full = os.path.join(dirpath, fn)
                rel = os.path.relpath(full, self.root).replace(os.sep, "/")
                try:
                    if fn.endswith(".avro"):
                        self.check_data(rel, full)
                    elif fn.endswith(".ndjson"):
                        self.check_meta(rel, full)
                    else:
                        self.error(f"{rel}: unexpected file")
                except Failure as e:
                    self.error(str(e))

    def check_data(self, rel, full):
        m = DATA_KEY_RE.match(rel)
        if not m:
            raise Failure(f"{rel}: key is not .../startYear=Y/startMonth=M/startDay=D/seriesBucket=hh/raw_...")
        parsed = parse_name(m["name"])
        if parsed is None:
            raise Failure(f"{rel}: file name is not raw_{{seriesId}}_{{startTimestamp}}_{{quality}}.avro")
        kind, sid, ts, quality = parsed
        for part, v in (("startYear", m["y"]), ("startMonth", m["m"]), ("startDay", m["d"])):
            if not UNPADDED.match(v):
                raise Failure(f"{rel}: {part}={v} is not an unpadded number")
        if not re.match(r"^[0-9a-f]{2}$", m["hh"]):
            raise Failure(f"{rel}: seriesBucket={m['hh']} is not two lowercase hex digits")
        if not (UUID_RE.match(sid) or LEGACY_RE.match(sid)) or not 36 <= len(sid) <= 73:
            raise Failure(f"{rel}: series id '{sid}' is neither a UUID nor assetId_propertyId")
        if not ts.isdigit():
            raise Failure(f"{rel}: start timestamp '{ts}' is not decimal digits")
        if quality not in QUALITIES:
            raise Failure(f"{rel}: quality '{quality}' is not one of {', '.join(QUALITIES)}")
        try:
            day = datetime.date(int(m["y"]), int(m["m"]), int(m["d"]))
        except ValueError:
            raise Failure(f"{rel}: no such date") from None
        day_start = int(datetime.datetime(day.year, day.month, day.day,
                                          tzinfo=datetime.timezone.utc).timestamp())
        start = int(ts)
        if not day_start <= start < day_start + DAY:
            raise Failure(f"{rel}: start timestamp {start} is not on {day}")
        want_hh = hashlib.sha256(sid.encode()).hexdigest()[:2]
        if m["hh"] != want_hh:
            raise Failure(f"{rel}: seriesBucket={m['hh']}, the generator's derivation gives {want_hh}")
        old = self.series_bucket.setdefault(sid, m["hh"])
        if old != m["hh"]:
            raise Failure(f"{rel}: series '{sid}' is in bucket {m['hh']} here and {old} elsewhere")
        parent = m["prefix"][:-1].rsplit("/", 1)[0] + "/" if "/" in m["prefix"][:-1] else ""
        fkey = (parent, m["y"], m["m"], m["d"], m["hh"], sid, ts, quality)
        if kind == "agg":
            self.agg_files.append((rel, full, fkey))
            return
        self.raw_files[fkey] = full
        self.data_prefixes.add(m["prefix"])
        self.days.add(day)

        info = container(full)
        self.codecs[info["codec"]] += 1
        s = info["schema"]
        self.variants[(s.get("namespace", ""), tuple(f["name"] for f in s["fields"]))] += 1
        if info["blocks"] > 1:
            self.multi_block += 1
        self.qualities[quality] += 1
        self.files += 1

        prev = None
        n = 0
        for rec in records(full):
            n += 1
            where = f"{rel}: record {n}"
            if rec["seriesId"] != sid:
                raise Failure(f"{where}: seriesId '{rec['seriesId']}' differs from the key's '{sid}'")
            if rec["quality"] != quality:
                raise Failure(f"{where}: quality '{rec['quality']}' differs from the key's '{quality}'")
            t, ns = rec["timeInSeconds"], rec["offsetInNanos"]
            if not start <= t < start + WINDOW or not day_start <= t < day_start + DAY:
                raise Failure(f"{where}: timeInSeconds {t} outside the window "
                              f"[{start}, {start + WINDOW}) of {day}")
            if not 0 <= ns <= 999999999:
                raise Failure(f"{where}: offsetInNanos {ns} out of range")
            if prev is not None and (t, ns) <= prev:
                raise Failure(f"{where}: time {t}.{ns:09d} does not increase")
            prev = (t, ns)
            set_fields = [f for f in VALUE_FIELDS if rec[f] is not None]
            if len(set_fields) != 1:
                raise Failure(f"{where}: {len(set_fields)} value fields set, expected 1")
            self.series_fields[sid].add(set_fields[0])
            v = rec["recordVersion"]
            if v is not None and v <= 0:
                raise Failure(f"{where}: recordVersion {v} is not positive")
            self.series_versions[sid].add(None if v is None else "long")
            if rec["jsonValue"] is not None:
                try:
                    json.loads(rec["jsonValue"])
                except ValueError:
                    raise Failure(f"{where}: jsonValue is not JSON") from None
        if n == 0:
            raise Failure(f"{rel}: no records")
        self.records += n

    def check_meta(self, rel, full):
        m = META_KEY_RE.match(rel)
        if not m:
            raise Failure(f"{rel}: not asset_metadata/asset_{{assetId}}.ndjson")
        asset = m["asset"]
        if not UUID_RE.match(asset):
            raise Failure(f"{rel}: asset id '{asset}' is not a UUID")
        self.meta_parents.add(m["parent"])
        self.meta_files += 1
        with open(full, encoding="utf-8") as f:
            lines = f.read().split("\n")
        if lines[-1] != "":
            raise Failure(f"{rel}: last line is not terminated")
        lines = lines[:-1]
        if not lines:
            raise Failure(f"{rel}: empty")
        for i, line in enumerate(lines, 1):
            where = f"{rel}: line {i}"
            try:
                o = json.loads(line)
            except ValueError as e:
                raise Failure(f"{where}: not JSON: {e}") from None
            if not isinstance(o, dict):
                raise Failure(f"{where}: not a JSON object")
            missing = [k for k in METADATA_FIELDS if k not in o]
            extra = [k for k in o if k not in METADATA_FIELDS]
            if missing or extra:
                raise Failure(f"{where}: missing fields {missing}, unknown fields {extra}")
            if o["assetId"] != asset:
                raise Failure(f"{where}: assetId '{o['assetId']}' is not the file's '{asset}'")
            sid = o["timeSeriesId"]
            lm = LEGACY_RE.match(sid)
            if lm and (lm[1], lm[2]) != (o["assetId"], o["assetPropertyId"]):
                raise Failure(f"{where}: timeSeriesId '{sid}' is not assetId_assetPropertyId")
            if not lm and not UUID_RE.match(sid):
                raise Failure(f"{where}: timeSeriesId '{sid}' is not an id")
            if not re.match(r"^[0-9a-f]{2}$", str(o["timeSeriesBucket"])):
                raise Failure(f"{where}: timeSeriesBucket '{o['timeSeriesBucket']}' is not two hex digits")
            if o["assetPropertyDataType"] not in TYPE_FIELD:
                raise Failure(f"{where}: assetPropertyDataType '{o['assetPropertyDataType']}' unknown")
            if not str(o["assetArn"]).endswith(":asset/" + asset):
                raise Failure(f"{where}: assetArn '{o['assetArn']}' does not name the asset")
            if sid in self.meta:
                raise Failure(f"{where}: timeSeriesId '{sid}' listed twice")
            self.meta[sid] = (rel, i, o)

    def cross_check(self):
        for sid, fields in self.series_fields.items():
            if len(fields) != 1:
                self.error(f"series '{sid}' fills {sorted(fields)} across its files, expected one type")
        for sid, (rel, i, o) in self.meta.items():
            where = f"{rel}: line {i}"
            if sid in self.series_bucket and o["timeSeriesBucket"] != self.series_bucket[sid]:
                self.error(f"{where}: timeSeriesBucket {o['timeSeriesBucket']} but the keys of "
                           f"'{sid}' use seriesBucket={self.series_bucket[sid]}")
            want = TYPE_FIELD[o["assetPropertyDataType"]]
            got = self.series_fields.get(sid)
            if got and got != {want}:
                self.error(f"{where}: {o['assetPropertyDataType']} series fills {sorted(got)}")
        # metadata sits beside the raw prefix: raw/ <-> asset_metadata/
        for p in self.data_prefixes:
            parent = p[:-1].rsplit("/", 1)[0] + "/" if "/" in p[:-1] else ""
            if self.meta_parents and parent not in self.meta_parents:
                self.error(f"data prefix '{p}' has no asset_metadata/ beside it")
        for sid in self.series_bucket:
            if LEGACY_RE.match(sid) and self.meta and sid not in self.meta:
                self.error(f"series '{sid}' has an assetId_propertyId id but no asset metadata")

    def check_aggs(self):
        """Each agg_ file holds the aggregates of the raw file of the same
        series, window and quality: per minute with data (PT1M), then per
        hour (PT1H), at the interval's start; count always, average, min,
        max and sum for numeric values; the largest recordVersion."""
        if self.agg_files and len(self.agg_files) != len(self.raw_files):
            self.error(f"{len(self.agg_files)} agg_ files for {len(self.raw_files)} raw files")
        for rel, full, fkey in self.agg_files:
            raw = self.raw_files.get(fkey)
            if raw is None:
                self.error(f"{rel}: no raw file of its series, window and quality")
                continue
            try:
                want = expected_aggs(list(records(raw)), int(fkey[6]))
                got = list(records(full))
            except Failure as e:
                self.error(str(e))
                continue
            if got != want:
                self.error(f"{rel}: {len(got)} records, not the {len(want)} aggregates of "
                           f"{os.path.basename(raw)}; first difference: "
                           f"{next(((g, w) for g, w in zip(got, want) if g != w), None)}")

    def forms(self):
        legacy = sum(1 for s in self.series_bucket if LEGACY_RE.match(s))
        assoc_uuid = sum(1 for s in self.series_bucket if UUID_RE.match(s) and s in self.meta)
        disassoc = sum(1 for s in self.series_bucket if UUID_RE.match(s) and s not in self.meta)
        return legacy, assoc_uuid, disassoc

    def require_all(self):
        legacy, assoc_uuid, disassoc = self.forms()
        want = {
            "asset metadata": self.meta_files > 0,
            "series with assetId_propertyId ids": legacy > 0,
            "associated series with single-UUID ids": assoc_uuid > 0,
            "disassociated series": disassoc > 0,
            "files of each codec (null, deflate, snappy)":
                set(self.codecs) == {"null", "deflate", "snappy"},
            "files of each quality (GOOD, BAD, UNCERTAIN)": set(self.qualities) == set(QUALITIES),
            "a writer schema with another field order": len({v[1] for v in self.variants}) > 1,
            "a writer schema with another namespace": len({v[0] for v in self.variants}) > 1,
            "series of each value field":
                bool(self.series_fields) and set().union(*self.series_fields.values()) == set(VALUE_FIELDS),
            "series with and without recordVersion":
                bool(self.series_versions) and set().union(*self.series_versions.values()) == {None, "long"},
            "a file of several blocks": self.multi_block > 0,
        }
        for what, present in want.items():
            if not present:
                self.error(f"--require-all: the tree lacks {what}")

    def summary(self):
        legacy, assoc_uuid, disassoc = self.forms()
        codecs = ", ".join(f"{k} {v}" for k, v in sorted(self.codecs.items()))
        quals = ", ".join(f"{k} {v}" for k, v in sorted(self.qualities.items()))
        print(f"check-gen: {self.files} data files, {self.records} records, "
              f"{len(self.days)} days, {len(self.series_bucket)} series "
              f"({legacy} assetId_propertyId, {assoc_uuid} associated UUID, "
              f"{disassoc} disassociated)")
        print(f"check-gen: codecs: {codecs}; qualities: {quals}; "
              f"writer schema variants: {len(self.variants)}; multi-block files: {self.multi_block}")
        print(f"check-gen: {self.meta_files} asset metadata files, {len(self.meta)} properties")
        if self.agg_files:
            print(f"check-gen: {len(self.agg_files)} agg_ files, each the aggregates of its raw file")


def expected_aggs(recs, start):
    """The aggregates of one raw file's records (see GenCheck.check_aggs)."""
    def interval(length):
        groups = collections.OrderedDict()
        for r in recs:
            b = start + (r["timeInSeconds"] - start) // length * length
            groups.setdefault(b, []).append(r)
        out = []
        for b, rs in groups.items():
            vals = [r["doubleValue"] if r["doubleValue"] is not None else
                    float(r["integerValue"]) if r["integerValue"] is not None else None
                    for r in rs]
            numeric = all(v is not None for v in vals)
            s = 0.0
            for v in vals if numeric else []:
                s += v
            versions = [r["recordVersion"] for r in rs if r["recordVersion"] is not None]
            out.append({
                "seriesId": rs[0]["seriesId"], "timeInSeconds": b,
                "offsetInNanos": 0, "quality": rs[0]["quality"],
                "resolution": "PT1M" if length == 60 else "PT1H",
                "count": float(len(rs)),
                "average": s / len(rs) if numeric else None,
                "min": min(vals) if numeric else None,
                "max": max(vals) if numeric else None,
                "sum": s if numeric else None,
                "recordVersion": max(versions) if versions else None,
            })
        return out
    return interval(60) + interval(3600)


def cmd_check_gen(args):
    req = False
    if args and args[0] == "--require-all":
        req = True
        args = args[1:]
    if len(args) != 1 or not os.path.isdir(args[0]):
        usage("check-gen [--require-all] DIR")
    c = GenCheck(args[0])
    c.walk()
    c.cross_check()
    c.check_aggs()
    if req:
        c.require_all()
    c.summary()
    if c.files == 0:
        c.error("no data files")
    if c.errors:
        for e in c.errors[:20]:
            sys.stderr.write(f"check-gen: {e}\n")
        if len(c.errors) > 20:
            sys.stderr.write(f"check-gen: ... and {len(c.errors) - 20} more\n")
        sys.stderr.write(f"check-gen: FAILED ({len(c.errors)} problems)\n")
        return 1
    print("check-gen: ok")
    return 0


COMMANDS = {
    "dump": cmd_dump,
    "count": cmd_count,
    "meta": cmd_meta,
    "same-records": cmd_same_records,
    "contains": cmd_contains,
    "check-gen": cmd_check_gen,
}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        sys.stderr.write(__doc__)
        return 2
    try:
        return COMMANDS[argv[1]](argv[2:])
    except Failure as e:
        sys.stderr.write(f"avro_tool: {e}\n")
        return 1
    except OSError as e:
        sys.stderr.write(f"avro_tool: {e}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
