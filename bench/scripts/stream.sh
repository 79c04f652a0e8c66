#!/bin/sh
# QUERY_STRING bytes of zeros after the header block.
printf 'Content-Type: application/octet-stream\r\n\r\n'
exec head -c "$QUERY_STRING" /dev/zero
