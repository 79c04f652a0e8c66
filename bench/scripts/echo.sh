#!/bin/sh
# Full duplex: echoes stdin while it is still arriving.
printf 'Content-Type: application/octet-stream\r\n\r\n'
exec cat
