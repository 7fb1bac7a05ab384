"""Lifeboat's AWS emulator: moto's server on a free loopback port.

Prints one line, `LISTENING <host>:<port>`, once it answers, then serves until its standard
input closes, so it never outlives the test or demo process that started it (even one killed
with SIGKILL: the kernel closes the pipe).

Lifeboat's extensions to moto (`lifeboat_emulator/`: what moto lacks of the AWS API, modelled on
its reference) are installed here, before the server starts.

Environment:
- `LIFEBOAT_EMULATOR_POSTGRES=host:port` (default 127.0.0.1:5432) and
  `LIFEBOAT_EMULATOR_MYSQL=host:port` (default 127.0.0.1:3306): the machine's PostgreSQL and
  MariaDB (or MySQL) servers that restored DB instances answer on (`rds_local_servers`).
"""

import logging
import os
import sys

from moto.server import ThreadedMotoServer

import lifeboat_emulator


def main() -> None:
    # Werkzeug logs every request to stderr; tests read the recorder instead.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    try:
        lifeboat_emulator.rds_local_servers.configure(dict(os.environ))
    except ValueError as e:
        sys.exit(f"lifeboat emulator: {e}")
    lifeboat_emulator.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"LISTENING {host}:{port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
