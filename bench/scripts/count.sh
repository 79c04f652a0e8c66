#!/bin/sh
n=$(wc -c | tr -d ' ')
printf 'Content-Type: text/plain\r\n\r\n%s\n' "$n"
