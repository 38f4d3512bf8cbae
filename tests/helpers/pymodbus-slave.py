#!/usr/bin/python3
"""A Modbus TCP slave built from pymodbus (Debian's python3-pymodbus 3.0), for tests that read it with
the gateway: an implementation that shares no code with Qingcheng's. Values are encoded here, with
pymodbus' own payload builder, so a word order is checked against another library's idea of it.

Usage: pymodbus-slave.py SPEC.json. SPEC: {"unit": 1, "points": [{"fc": 3|4, "addr": PDU address,
"type": "uint16"|"int16"|"uint32"|"int32"|"float32", "order": "ABCD"|"CDAB", "value": engineering
value, "scale": 1, "offset": 0}]}. Listens on 127.0.0.1, a free port, and prints "listening PORT".
Exits when stdin closes or on SIGTERM."""
import asyncio
import json
import sys

from pymodbus.constants import Endian
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.payload import BinaryPayloadBuilder
from pymodbus.server.async_io import ModbusTcpServer

# Word order names the value's bytes on the wire (docs/standards/modbus.md §4); bytes within a register
# are big-endian in both.
WORD_ORDER = {"ABCD": Endian.Big, "CDAB": Endian.Little}
ADD = {
    "uint16": "add_16bit_uint",
    "int16": "add_16bit_int",
    "uint32": "add_32bit_uint",
    "int32": "add_32bit_int",
    "float32": "add_32bit_float",
}


def registers_of(point):
    """The registers holding one point: raw = (value - offset) / scale, integers rounded."""
    raw = (point["value"] - point.get("offset", 0)) / point.get("scale", 1)
    if point["type"] != "float32":
        raw = int(round(raw))
    builder = BinaryPayloadBuilder(byteorder=Endian.Big, wordorder=WORD_ORDER[point.get("order", "ABCD")])
    getattr(builder, ADD[point["type"]])(raw)
    return builder.to_registers()


def banks(points):
    """Holding and input register images, zero wherever no point is."""
    size = {3: 1, 4: 1}
    for p in points:
        size[p["fc"]] = max(size[p["fc"]], p["addr"] + 2)
    image = {fc: [0] * n for fc, n in size.items()}
    for p in points:
        for i, word in enumerate(registers_of(p)):
            image[p["fc"]][p["addr"] + i] = word
    return image


async def main(spec):
    image = banks(spec["points"])
    # zero_mode: address 0 of the request is element 0 of the block (pymodbus otherwise adds 1).
    slave = ModbusSlaveContext(
        hr=ModbusSequentialDataBlock(0, image[3]),
        ir=ModbusSequentialDataBlock(0, image[4]),
        zero_mode=True,
    )
    context = ModbusServerContext(slaves={spec["unit"]: slave}, single=False)
    server = ModbusTcpServer(context, address=("127.0.0.1", 0))
    serving = asyncio.ensure_future(server.serve_forever())
    await server.serving
    print(f"listening {server.server.sockets[0].getsockname()[1]}", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait([serving, stdin_closed], return_when=asyncio.FIRST_COMPLETED)
    await server.shutdown()


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        asyncio.run(main(json.load(f)))
