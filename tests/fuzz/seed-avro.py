#!/usr/bin/python3
"""seed-avro.py - write the python3-avro seeds of the Avro harnesses.

    /usr/bin/python3 tests/fuzz/seed-avro.py tests/fuzz/corpus

avro_merge/py-*.avro: containers written by an independent implementation
(Debian's python3-avro) with the null and deflate codecs and with writer
schemas that are not RawDatum's but resolve to it (another namespace,
fields reordered, an int time, a float value, an extra field, a missing
optional field, wider unions).  schema/py-*: a schema's JSON, a NUL byte,
then two records encoded with it (the input of fuzz_schema).
The other seeds come from 'swrepart gen' (see README.md).
"""
import io
import json
import os
import sys

import avro.datafile
import avro.io
import avro.schema

# RawDatum as the integration tests' independent reader writes it.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from avro_tool import RAWDATUM as RAW  # noqa: E402
SID = "7020c8e2-e6db-40fa-9845-ed0dddd4c77d"


def variant(name, change):
    s = json.loads(json.dumps(RAW))
    change(s)
    return name, s


def fields(s):
    return {f["name"]: f for f in s["fields"]}


VARIANTS = [
    variant("raw", lambda s: None),
    variant("namespace", lambda s: s.update(namespace="other.ns")),
    variant("reordered", lambda s: s["fields"].reverse()),
    variant("int-time", lambda s: fields(s)["timeInSeconds"].update(
        type="int")),
    variant("float-value", lambda s: fields(s)["doubleValue"].update(
        type=["null", "float"])),
    variant("extra-field", lambda s: s["fields"].append(
        {"name": "extra", "type": {"type": "array", "items": {
            "type": "map", "values": "bytes"}}})),
    variant("missing-optional", lambda s: s["fields"].pop()),
    variant("wide-union", lambda s: fields(s)["stringValue"].update(
        type=["null", "string", "long", {"type": "enum", "name": "E",
                                         "symbols": ["A", "B"]}])),
    variant("bytes-string", lambda s: fields(s)["seriesId"].update(
        type="bytes")),
    variant("fixed-extra", lambda s: s["fields"].insert(2, {
        "name": "f", "type": {"type": "fixed", "name": "F", "size": 3}})),
]


def datum(s, i):
    d = {"seriesId": SID, "timeInSeconds": 1640995200 + i,
         "offsetInNanos": 1000 * i, "quality": "GOOD",
         "doubleValue": 1.5 * i if i % 2 else None,
         "stringValue": "v%d" % i if i % 3 == 0 else None,
         "integerValue": i, "booleanValue": i % 2 == 0,
         "jsonValue": None, "recordVersion": 7}
    names = fields(s)
    if names["seriesId"]["type"] == "bytes":
        d["seriesId"] = SID.encode()
    if "extra" in names:
        d["extra"] = [{"k": b"v"}]
    if "f" in names:
        d["f"] = b"abc"
    if "stringValue" in names and "long" in names["stringValue"]["type"]:
        d["stringValue"] = [None, "s", 5, "B"][i % 4]
    return {k: v for k, v in d.items() if k in names}


def main(out):
    os.makedirs(os.path.join(out, "avro_merge"), exist_ok=True)
    os.makedirs(os.path.join(out, "schema"), exist_ok=True)
    for k, (name, s) in enumerate(VARIANTS):
        schema = avro.schema.parse(json.dumps(s))
        codec = ["null", "deflate"][k % 2]
        path = os.path.join(out, "avro_merge", "py-%s-%s.avro" % (name, codec))
        with open(path, "wb") as f:
            w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(), schema,
                                             codec=codec)
            for i in range(3):
                w.append(datum(s, i))
            w.close()
        body = io.BytesIO()
        enc = avro.io.BinaryEncoder(body)
        for i in range(2):
            avro.io.DatumWriter(schema).write(datum(s, i), enc)
        with open(os.path.join(out, "schema", "py-" + name), "wb") as f:
            f.write(json.dumps(s).encode() + b"\0" + body.getvalue())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus")
